/* Names from the pci.ids / usb.ids databases (hwdata): one pass over the
 * file answers every device of a query.
 *
 * Threads: any thread; a lookup set belongs to its caller. */
#ifndef OSQ_TABLES_HW_IDS_H
#define OSQ_TABLES_HW_IDS_H

#include <stddef.h>

/* One device to name. Ids are 4 lowercase hex digits ("" = not wanted);
 * cls/subcls are 0-255 or -1. Names found are malloc'd (else NULL). */
typedef struct osq_hwid {
  char vendor[5], device[5], subvendor[5], subdevice[5];
  int cls, subcls;
  char *vendor_name, *device_name, *subvendor_name, *subsystem_name;
  char *class_name, *subclass_name;
} osq_hwid;

/* The first readable file of the NUL-separated candidates, or NULL. */
const char *osq_hwids_path(const char *const *candidates);
/* Fill the names of n devices from the ids file at path (bounded lines;
 * a missing file leaves every name NULL). */
void osq_hwids_lookup(const char *path, osq_hwid *q, size_t n);
/* Free the names of n devices. */
void osq_hwids_free(osq_hwid *q, size_t n);

#endif
