/* Files the memory_map and kernel_keys tables read (tests point them
 * elsewhere). */
#ifndef OSQ_TABLES_RESOURCES_H
#define OSQ_TABLES_RESOURCES_H

extern const char *osq_tables_iomem_path; /* default /proc/iomem */
extern const char *osq_tables_keys_path;  /* default /proc/keys */

#endif
