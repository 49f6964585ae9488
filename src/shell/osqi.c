/* osqi: the shell's program; the shell itself is in main.c so that osqd -S
 * can run it too. */
#include "shell/entry.h"

int main(int argc, char **argv) { return osq_shell_main(argc, argv); }
