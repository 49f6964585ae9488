/* Where pci_devices and usb_devices look (tests point them at a fixture
 * tree and ids files).
 *
 * Threads: set before any query (tests); then read-only from any thread. */
#ifndef OSQ_TABLES_HW_BUS_H
#define OSQ_TABLES_HW_BUS_H

extern const char *osq_tables_sysfs_root; /* default /sys */
extern const char *osq_tables_pci_ids;    /* NULL: the hwdata locations */
extern const char *osq_tables_usb_ids;    /* NULL: the hwdata locations */

#endif
