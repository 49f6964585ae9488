/* The shell's entry, shared by osqi and by `osqd -S` (which runs the
 * shell, as `osqueryd -S` does). */
#ifndef OSQ_SHELL_ENTRY_H
#define OSQ_SHELL_ENTRY_H

/* Parse the shell's flags and run it; returns the exit code.
 * register_tables (may be NULL) registers tables of the program's own
 * beside the built-in ones (osquery_schedule, ...); 0 or an error. */
int osq_shell_main(int argc, char **argv, int (*register_tables)(void));

/* The same; before_exit (may be NULL) runs after the shell's last query,
 * while the flags are still readable (osqi waits for its carves there). */
int osq_shell_main_with(int argc, char **argv, int (*register_tables)(void),
                        void (*before_exit)(void));

#endif
