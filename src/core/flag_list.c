/* The table of osq's built-in flags, in declaration order (the index of a
 * flag is its osq_flag_id), built from flag_list.def. */
#include "flags.h"

#define FLAG 0u
#define CLI OSQ_FK_CLI
#define SHELL OSQ_FK_SHELL
#define EXTENSION OSQ_FK_EXTENSION
#define HIDDEN OSQ_FK_HIDDEN

const osq_flag_def osq_builtin_flags[OSQ_FLAG_COUNT] = {
#define OSQ_FLAG(name, type, dflt, kind, implemented, desc)                    \
  [OSQ_FID_##name] = {#name, OSQ_FT_##type, dflt, kind, desc,                  \
                      OSQ_FLAG_UNIMPLEMENTED_##implemented},
#define OSQ_FLAG_UNIMPLEMENTED_YES false
#define OSQ_FLAG_UNIMPLEMENTED_NO true
#include "flag_list.def"
#undef OSQ_FLAG
};
