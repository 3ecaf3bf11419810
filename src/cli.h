/* cli: the command line, exit codes and the one line printed on failure. */
#ifndef RMT_CLI_H
#define RMT_CLI_H

/* Run rmtmc with argc/argv; returns the process exit code (0, 1, 2 or 3).
 * Collective on MPI_COMM_WORLD for "run" (MPI is initialised here). */
int rmt_cli_main(int argc, char **argv);

#endif
