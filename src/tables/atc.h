/* Automatic table construction (osquery's ATC): the config's
 * "auto_table_construction" section turns SQLite databases on disk into
 * tables.
 *
 *   "auto_table_construction": {
 *     "<table>": {"query": "SELECT ...", "path": "/home/%/app.db",
 *                 "columns": ["a", "b"], "platform": "linux"}
 *   }
 *
 * Every column is TEXT; a "path" column (the database file a row came
 * from) is added unless the list names one. A scan opens every file the
 * path pattern matches (fsglob's LIKE rules) read-only, runs the query and
 * takes each result column whose name is a table column. A column named
 * path in the query's result replaces the implicit one. */
#ifndef OSQ_TABLES_ATC_H
#define OSQ_TABLES_ATC_H

#include <jansson.h>
#include <stddef.h>

/* Bounds on the section: tables, columns per table, name lengths. */
#define OSQ_ATC_MAX_TABLES 1024
#define OSQ_ATC_MAX_COLUMNS 256
#define OSQ_ATC_MAX_NAME 255
/* SQLite VM steps one query may take on one file (a few seconds): a
 * config's query cannot keep a scan running for ever. */
#define OSQ_ATC_MAX_STEPS 1000000000ull
/* The bound in force (tests lower it). */
extern unsigned long long osq_atc_max_steps;

/* Make the registered ATC tables match section (NULL or not an object:
 * none). A table whose spec is unchanged stays as it is; a changed one is
 * replaced; one no longer listed is removed. A spec without query or path,
 * with bad columns, for another platform, or named like a table that is
 * not an ATC table is skipped with a warning (osquery's rules). Returns
 * how many ATC tables are registered afterwards. Any thread may call it;
 * calls are serialised. */
size_t osq_atc_apply(const json_t *section);

#endif
