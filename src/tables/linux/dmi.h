/* A bounded reader of SMBIOS/DMI structure tables (the kernel's
 * /sys/firmware/dmi/tables/DMI): each structure is a 4-byte header (type,
 * length, handle), length bytes of formatted fields, then a set of
 * NUL-terminated strings closed by an empty one. Nothing is read outside
 * the buffer it is given; a malformed structure ends the walk.
 *
 * Thread-safe: pure functions. */
#ifndef OSQ_TABLES_DMI_H
#define OSQ_TABLES_DMI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct osq_dmi_struct {
  uint8_t type;
  uint8_t length;      /* formatted area, header included */
  uint16_t handle;
  const uint8_t *p;    /* the structure (header first) */
  const uint8_t *text; /* its strings */
  size_t text_len;     /* bytes of strings, the closing NULs included */
  size_t size;         /* length + text_len */
} osq_dmi_struct;

/* The structure at *off of buf (len bytes) into s, and *off moved past
 * it. Returns false at the end: no room for a header, a length under 4 or
 * past the buffer, a string set without its closing NULs, or after the
 * end-of-table structure (type 127, which is returned). */
bool osq_dmi_next(const uint8_t *buf, size_t len, size_t *off,
                  osq_dmi_struct *s);

/* Formatted fields, little-endian; 0 when the field lies past the
 * structure's length (callers check the length they need first). */
uint8_t osq_dmi_u8(const osq_dmi_struct *s, size_t off);
uint16_t osq_dmi_u16(const osq_dmi_struct *s, size_t off);
uint32_t osq_dmi_u32(const osq_dmi_struct *s, size_t off);
uint64_t osq_dmi_u64(const osq_dmi_struct *s, size_t off);

/* String number idx (1-based) of s into out, trailing blanks removed;
 * "" for 0, a missing number or a string that does not fit. Returns out. */
const char *osq_dmi_string(const osq_dmi_struct *s, uint8_t idx, char *out,
                           size_t cap);

/* The SMBIOS name of a structure type ("Memory Device"), or "Unknown". */
const char *osq_dmi_type_name(uint8_t type);

#endif
