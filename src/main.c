#include "cli.h"

int main(int argc, char **argv) { return rmt_cli_main(argc, argv); }
