/* The ids databases: "vvvv  Vendor", "\tdddd  Device", "\t\tssss tttt
 * Subsystem", then "C cc  Class", "\tss  Subclass". Other sections
 * (usb.ids' AT, HID, L, …) start with a line of their own at column 0;
 * their indented lines belong to no vendor. */
#include "hw_ids.h"

#include "tables/util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *osq_hwids_path(const char *const *candidates) {
  for (; *candidates != NULL; candidates++)
    if (access(*candidates, R_OK) == 0)
      return *candidates;
  return NULL;
}

static bool hex_n(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!strchr("0123456789abcdef", s[i]) || s[i] == '\0')
      return false;
  return true;
}

static int hex_byte(const char *s) {
  if (!hex_n(s, 2))
    return -1;
  return (int)strtol((char[3]){s[0], s[1], 0}, NULL, 16);
}

/* The name after the id and its separating spaces; NULL if none. */
static const char *name_after(const char *s) {
  s += strspn(s, " ");
  return *s ? s : NULL;
}

static void set_name(char **slot, const char *name) {
  if (*slot == NULL && name != NULL)
    *slot = strdup(name);
}

enum section { S_NONE, S_VENDOR, S_CLASS };

void osq_hwids_lookup(const char *path, osq_hwid *q, size_t n) {
  if (path == NULL || n == 0)
    return;
  FILE *f = fopen(path, "re");
  if (f == NULL)
    return;
  char line[OSQ_TBL_LINE_MAX];
  char vendor[5] = "", device[5] = "";
  int cls = -1;
  enum section sec = S_NONE;
  int got;
  while ((got = osq_tbl_getline(f, line, sizeof line)) != 0) {
    if (got < 0 || line[0] == '#' || line[0] == '\0')
      continue;
    size_t len = strlen(line);
    if (line[0] != '\t') {
      device[0] = '\0';
      if (len > 6 && hex_n(line, 4) && line[4] == ' ') {
        sec = S_VENDOR;
        memcpy(vendor, line, 4);
        vendor[4] = '\0';
        const char *name = name_after(line + 4);
        for (size_t i = 0; i < n; i++) {
          if (strcmp(q[i].vendor, vendor) == 0)
            set_name(&q[i].vendor_name, name);
          if (strcmp(q[i].subvendor, vendor) == 0)
            set_name(&q[i].subvendor_name, name);
        }
      } else if (len > 5 && line[0] == 'C' && line[1] == ' ' &&
                 (cls = hex_byte(line + 2)) >= 0 && line[4] == ' ') {
        sec = S_CLASS;
        const char *name = name_after(line + 4);
        for (size_t i = 0; i < n; i++)
          if (q[i].cls == cls)
            set_name(&q[i].class_name, name);
      } else {
        sec = S_NONE;
      }
      continue;
    }
    if (sec == S_VENDOR && line[1] != '\t' && len > 6 && hex_n(line + 1, 4) &&
        line[5] == ' ') {
      memcpy(device, line + 1, 4);
      device[4] = '\0';
      const char *name = name_after(line + 5);
      for (size_t i = 0; i < n; i++)
        if (strcmp(q[i].vendor, vendor) == 0 &&
            strcmp(q[i].device, device) == 0)
          set_name(&q[i].device_name, name);
    } else if (sec == S_VENDOR && line[1] == '\t' && device[0] && len > 12 &&
               hex_n(line + 2, 4) && line[6] == ' ' && hex_n(line + 7, 4) &&
               line[11] == ' ') {
      const char *name = name_after(line + 11);
      for (size_t i = 0; i < n; i++)
        if (strcmp(q[i].vendor, vendor) == 0 &&
            strcmp(q[i].device, device) == 0 && q[i].subvendor[0] &&
            memcmp(q[i].subvendor, line + 2, 4) == 0 &&
            memcmp(q[i].subdevice, line + 7, 4) == 0)
          set_name(&q[i].subsystem_name, name);
    } else if (sec == S_CLASS && line[1] != '\t' && len > 4 &&
               line[3] == ' ') {
      int sub = hex_byte(line + 1);
      const char *name = name_after(line + 3);
      for (size_t i = 0; i < n && sub >= 0; i++)
        if (q[i].cls == cls && q[i].subcls == sub)
          set_name(&q[i].subclass_name, name);
    }
  }
  fclose(f);
}

void osq_hwids_free(osq_hwid *q, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(q[i].vendor_name);
    free(q[i].device_name);
    free(q[i].subvendor_name);
    free(q[i].subsystem_name);
    free(q[i].class_name);
    free(q[i].subclass_name);
  }
}
