/* SMBIOS structure walking; see dmi.h. Field offsets and type names are
 * those of the DMTF SMBIOS specification (DSP0134). */
#include "dmi.h"

#include <string.h>

bool osq_dmi_next(const uint8_t *buf, size_t len, size_t *off,
                  osq_dmi_struct *s) {
  size_t at = *off;
  /* at is SIZE_MAX after the end-of-table structure */
  if (buf == NULL || at > len || len - at < 4)
    return false;
  const uint8_t *p = buf + at;
  uint8_t length = p[1];
  if (length < 4 || length > len - at)
    return false;
  /* the strings: scan for two NULs in a row from the end of the fields;
   * a structure without strings still ends in two NULs */
  size_t t = at + length;
  size_t end = 0;
  for (size_t i = t; i + 1 < len; i++) {
    if (buf[i] == 0 && buf[i + 1] == 0) {
      end = i + 2;
      break;
    }
  }
  if (end == 0)
    return false;
  s->type = p[0];
  s->length = length;
  s->handle = (uint16_t)(p[2] | (p[3] << 8));
  s->p = p;
  s->text = buf + t;
  s->text_len = end - t;
  s->size = end - at;
  *off = s->type == 127 ? SIZE_MAX : end;
  return true;
}

static uint64_t le(const osq_dmi_struct *s, size_t off, size_t n) {
  if (off > s->length || n > (size_t)s->length - off)
    return 0;
  uint64_t v = 0;
  for (size_t i = n; i-- > 0;)
    v = (v << 8) | s->p[off + i];
  return v;
}

uint8_t osq_dmi_u8(const osq_dmi_struct *s, size_t off) {
  return (uint8_t)le(s, off, 1);
}
uint16_t osq_dmi_u16(const osq_dmi_struct *s, size_t off) {
  return (uint16_t)le(s, off, 2);
}
uint32_t osq_dmi_u32(const osq_dmi_struct *s, size_t off) {
  return (uint32_t)le(s, off, 4);
}
uint64_t osq_dmi_u64(const osq_dmi_struct *s, size_t off) {
  return le(s, off, 8);
}

const char *osq_dmi_string(const osq_dmi_struct *s, uint8_t idx, char *out,
                           size_t cap) {
  if (cap == 0)
    return out;
  out[0] = '\0';
  if (idx == 0)
    return out;
  const char *t = (const char *)s->text;
  size_t n = s->text_len, i = 0;
  /* the set ends at its first empty string */
  for (uint8_t k = 1; i < n && t[i] != '\0'; k++) {
    size_t l = strnlen(t + i, n - i);
    if (k == idx) {
      if (l >= cap)
        return out;
      memcpy(out, t + i, l);
      while (l > 0 && (out[l - 1] == ' ' || out[l - 1] == '\t'))
        l--;
      out[l] = '\0';
      return out;
    }
    i += l + 1;
  }
  return out;
}

const char *osq_dmi_type_name(uint8_t type) {
  static const char *const names[] = {
      "BIOS Information",
      "System Information",
      "Base Board or Module Information",
      "System Enclosure or Chassis",
      "Processor Information",
      "Memory Controller Information",
      "Memory Module Information",
      "Cache Information",
      "Port Connector Information",
      "System Slots",
      "On Board Devices Information",
      "OEM Strings",
      "System Configuration Options",
      "BIOS Language Information",
      "Group Associations",
      "System Event Log",
      "Physical Memory Array",
      "Memory Device",
      "32-bit Memory Error Information",
      "Memory Array Mapped Address",
      "Memory Device Mapped Address",
      "Built-in Pointing Device",
      "Portable Battery",
      "System Reset",
      "Hardware Security",
      "System Power Controls",
      "Voltage Probe",
      "Cooling Device",
      "Temperature Probe",
      "Electrical Current Probe",
      "Out-of-Band Remote Access",
      "Boot Integrity Services",
      "System Boot Information",
      "64-bit Memory Error Information",
      "Management Device",
      "Management Device Component",
      "Management Device Threshold Data",
      "Memory Channel",
      "IPMI Device Information",
      "System Power Supply",
      "Additional Information",
      "Onboard Devices Extended Info",
  };
  if (type < sizeof names / sizeof *names)
    return names[type];
  switch (type) {
  case 126: return "Inactive";
  case 127: return "End-of-Table";
  case 130: return "Memory SPD Data";
  case 131: return "OEM Processor Type";
  case 132: return "OEM Processor Bus Speed";
  default: return "Unknown";
  }
}
