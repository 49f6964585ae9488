/* time: one row with the current time in UTC. */
#include "tables/builtin.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

enum {
  C_WEEKDAY, C_YEAR, C_MONTH, C_DAY, C_HOUR, C_MINUTES, C_SECONDS,
  C_TIMEZONE, C_LOCAL_TIMEZONE, C_UNIX_TIME, C_TIMESTAMP, C_DATETIME,
  C_DATE_TIME, C_ISO_8601, C_WIN_TIMESTAMP,
};

static const osq_column columns[] = {
    {"weekday", OSQ_TYPE_TEXT, 0},
    {"year", OSQ_TYPE_INTEGER, 0},
    {"month", OSQ_TYPE_INTEGER, 0},
    {"day", OSQ_TYPE_INTEGER, 0},
    {"hour", OSQ_TYPE_INTEGER, 0},
    {"minutes", OSQ_TYPE_INTEGER, 0},
    {"seconds", OSQ_TYPE_INTEGER, 0},
    {"timezone", OSQ_TYPE_TEXT, 0},
    {"local_timezone", OSQ_TYPE_TEXT, 0},
    {"unix_time", OSQ_TYPE_INTEGER, 0},
    {"timestamp", OSQ_TYPE_TEXT, 0},
    {"datetime", OSQ_TYPE_TEXT, 0},
    /* osquery's hidden alias of datetime */
    {"date_time", OSQ_TYPE_TEXT, OSQ_COL_HIDDEN},
    {"iso_8601", OSQ_TYPE_TEXT, 0},
    /* Windows-only in osquery: declared hidden so queries still parse */
    {"win_timestamp", OSQ_TYPE_BIGINT, OSQ_COL_HIDDEN},
};

static int generate(const osq_context *ctx, osq_rows *out, void *udata) {
  (void)ctx;
  (void)udata;
  time_t now = time(NULL);
  struct tm utc, local;
  if (gmtime_r(&now, &utc) == NULL || localtime_r(&now, &local) == NULL) {
    osq_rows_error(out, "time: cannot convert the current time");
    return OSQ_ERROR;
  }
  char buf[64];
  strftime(buf, sizeof buf, "%A", &utc);
  osq_rows_cstr(out, C_WEEKDAY, buf);
  osq_rows_int(out, C_YEAR, utc.tm_year + 1900);
  osq_rows_int(out, C_MONTH, utc.tm_mon + 1);
  osq_rows_int(out, C_DAY, utc.tm_mday);
  osq_rows_int(out, C_HOUR, utc.tm_hour);
  osq_rows_int(out, C_MINUTES, utc.tm_min);
  osq_rows_int(out, C_SECONDS, utc.tm_sec);
  osq_rows_cstr(out, C_TIMEZONE, "UTC");
  strftime(buf, sizeof buf, "%Z", &local);
  osq_rows_cstr(out, C_LOCAL_TIMEZONE, buf);
  osq_rows_int(out, C_UNIX_TIME, (int64_t)now);
  /* asctime's layout without its newline, then " UTC" */
  strftime(buf, sizeof buf, "%a %b %e %H:%M:%S %Y UTC", &utc);
  osq_rows_cstr(out, C_TIMESTAMP, buf);
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &utc);
  osq_rows_cstr(out, C_DATETIME, buf);
  osq_rows_cstr(out, C_ISO_8601, buf);
  osq_rows_cstr(out, C_DATE_TIME, buf);
  return osq_rows_end(out);
}

const osq_table_plugin osq_table_time = {
    .name = "time",
    .columns = columns,
    .ncolumns = OSQ_NCOLS(columns),
    .attributes = OSQ_TABLE_UTILITY,
    .generate = generate,
};
