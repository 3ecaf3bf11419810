#include "cli.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <signal.h>
#include <unistd.h>

#include "analyze.h"
#include "config.h"
#include "ensemble.h"
#include "err.h"
#include "draw.h"
#include "farm.h"
#include "h5out.h"
#include "journal.h"
#include "results.h"
#include "solve.h"
#include "solve_grid.h"
#include "version.h"

/* Help. `rmtmc --help` prints every command and option; `rmtmc COMMAND
 * --help` (or `rmtmc help COMMAND`) that command's usage, what it does in
 * more detail, and only the options, variables and exit codes it has. */
enum { H_ALL = 1, H_RUN = 2, H_CHECK = 4, H_MERGE = 8, H_ANALYZE = 16 };

static const char *const cmd_names[] = {"run", "check", "merge", "analyze"};

static const char *const cmd_usage[] = {
    "rmtmc run CONFIG.json [-o OUT.h5] [--resume | --force] [--points I/K]\n"
    "                 [--progress auto|bar|log|none]\n"
    "                 [--mem-per-rank BYTES[K|M|G|T]]\n",
    "rmtmc check CONFIG.json [-o OUT.h5] [--force] [--ranks P] [--ranks-per-node R]\n"
    "                   [--mem-per-rank BYTES[K|M|G|T]] [--time SECONDS] [--points I/K]\n",
    "rmtmc merge OUT.h5 PART.h5... [--force] [--mem-per-rank BYTES[K|M|G|T]]\n",
    "rmtmc analyze SPECTRA.h5|SPECTRA.txt [--dataset NAME] [-c CONFIG.json] -o OUT.h5 [--force]\n",
};

static const char help_intro[] =
    "rmtmc: Monte Carlo experiments on random-matrix ensembles, distributed with MPI.\n"
    "\n"
    "Commands (rmtmc COMMAND --help: one command in more detail)\n"
    "  run CONFIG.json     run every point of the config's sweep and write one HDF5 file.\n"
    "                      Works under `mpiexec -n P` (any P >= 1) and `srun`; rank 0 hands\n"
    "                      out draws, results do not depend on P (with \"ranks_per_draw\":\n"
    "                      \"auto\" as long as it picks the same groups: `check --ranks P`).\n"
    "  check CONFIG.json   validate the config, expand the sweep and print the plan\n"
    "                      (parameters, n, draws, memory per rank, work); runs nothing.\n"
    "  merge OUT PARTS...  combine the files of `run --points I/K` (a job array) into one file,\n"
    "                      identical to a single run's.\n"
    "  analyze SPECTRA     measure spectra computed elsewhere: a 2-D dataset of an HDF5 file\n"
    "                      (--dataset, default hessian_evals; one spectrum per row) or a text\n"
    "                      file (one spectrum per line, values separated by spaces, tabs or\n"
    "                      commas; blank lines and lines starting with # skipped; every line\n"
    "                      as long). -c CONFIG.json chooses the statistics (and may name an\n"
    "                      ensemble for theory; keys: name, statistics, ensemble, output);\n"
    "                      without it: density, zero mass, moments, pool-unfolded spacings\n"
    "                      and gap ratios (one spectrum: polynomial-unfolded spacings).\n";

static const char *const cmd_about[] = {
    /* run */
    "Run every point of the config's sweep and write one HDF5 file. Start it with any\n"
    "number of ranks P >= 1 (`mpiexec -n P`, `srun`); without a launcher it is one rank on\n"
    "one core. Rank 0 reads the config, hands out draws, writes the file and computes\n"
    "draws of its own in a second thread. Results do not depend on P (with\n"
    "\"ranks_per_draw\": \"auto\", as long as it picks the same groups: `check --ranks P`).\n"
    "\n"
    "The output (-o, else the config's output.path, else NAME.h5) is refused when it\n"
    "exists (exit 2) unless --force or --resume; OUT.h5.lock keeps a second run off it.\n"
    "Before any work the directory must be writable with room for the output twice.\n"
    "The file is written to OUT.h5.tmp and renamed, at every checkpoint and at the end,\n"
    "so OUT.h5 is always a whole HDF5 file; its root attribute `complete` is 1 once every\n"
    "draw is in. Checkpoints come every output.checkpoint_seconds (default 60) and/or\n"
    "output.checkpoint_draws, a rewrite no sooner than 10 times what the last one took;\n"
    "once a rewrite takes more than RMT_JOURNAL_FROM seconds, the checkpoints between\n"
    "rewrites commit OUT.h5.journal instead (keep it beside OUT.h5: --resume and merge\n"
    "read it).\n"
    "\n"
    "SIGTERM, SIGINT or SIGUSR1 to the ranks (Slurm's time limit, scancel, Ctrl-C) writes\n"
    "a checkpoint and exits 3; ranks in a draw finish it first, and rank 0 waits up to\n"
    "20 s for them. --resume continues from the file (and its journal) to the same file\n"
    "an uninterrupted run writes. Progress goes to stderr; the end of a run prints each\n"
    "point's zero mass and, where measured, its gap ratio and spacing figures.\n"
    "README.md: \"Running\", \"Interruptions, resuming and failures\", \"Under Slurm\".\n",
    /* check */
    "Validate the config (a bad one: exit 2, one line naming the file, the JSON path and\n"
    "the problem), expand its sweep and print the plan; runs nothing. The plan gives each\n"
    "point's parameters, n and draws, the memory a rank needs, the group size and solver\n"
    "of process grids (\"ranks_per_draw\": \"auto\" chooses for --ranks P ranks), the work,\n"
    "what rank 0 keeps for the results, what each experiment measures, and whether run\n"
    "would accept the output file now. A plan that does not fit in --mem-per-rank is\n"
    "printed and refused (exit 2), as run would refuse it; 30 MiB or less, which every\n"
    "rank takes whatever its draws, is refused before any plan. --time also times draws on\n"
    "this machine and estimates the run's duration, for a batch job's time limit.\n"
    "README.md: \"Large matrices: process grids\", \"Under Slurm\".\n",
    /* merge */
    "Combine the files of `run --points I/K` (the tasks of a job array, one slice each)\n"
    "into OUT.h5: the file a single run of the config writes, with the same points,\n"
    "draws, counts and statistics (pool-unfolded spacings too: parts keep their spectra).\n"
    "The parts must come from the same config (output.path and the checkpoint settings\n"
    "may differ) and hold disjoint draws; a part that was stopped is read with its\n"
    "PART.h5.journal. With parts missing or unfinished the merged file is incomplete\n"
    "(exit 0, and it says so); `rmtmc run CONFIG -o OUT.h5 --resume` then computes what\n"
    "is missing. merge needs no launcher. `rmtmc merge READ.h5 STOPPED.h5` also writes a\n"
    "stopped run's checkpoint and journal into one file to read (READ.h5).\n"
    "README.md: \"Job arrays: slices and merge\"; jobs/README.md.\n",
    /* analyze */
    "Measure spectra computed elsewhere (a network's Hessian spectra, say) with the\n"
    "statistics a run computes, into OUT.h5 with the groups a run writes. Input: a 2-D\n"
    "dataset of an HDF5 file (--dataset, default hessian_evals; one spectrum per row; a\n"
    "single spectrum as one row, [1, n]) or a text file (one spectrum per line, values\n"
    "separated by spaces, tabs or commas; blank lines and lines starting with # skipped;\n"
    "every line as long). Ragged rows, empty fields, non-finite values and empty inputs\n"
    "are refused (exit 2). -c CONFIG.json chooses what is measured: keys name,\n"
    "statistics, output (output.eigenvalues) and, to compare with a theory, an ensemble\n"
    "whose n matches the spectra (a run's config serves: seed, draws, output.path and\n"
    "the like are left aside, with a note). Without it: density, zero mass, 4 moments,\n"
    "pool-unfolded spacings and gap ratios (a single spectrum has none to pool: its\n"
    "spacings are unfolded by a fitted polynomial).\n"
    "README.md: \"Spectra computed elsewhere\".\n",
};

typedef struct {
    int in;             /* H_* of the pages that list it */
    const char *text;
} help_item;

static const help_item help_options[] = {
    {H_ALL | H_RUN,
     "  -o, --output OUT.h5   output file (default: the config's output.path, else NAME.h5)\n"},
    {H_ANALYZE, "  -o, --output OUT.h5   output file (required)\n"},
    {H_ALL | H_RUN | H_MERGE | H_ANALYZE, "  --force               overwrite an existing output file\n"},
    {H_CHECK, "  -o, --output OUT.h5   the output run would write (default: output.path, else NAME.h5)\n"
              "  --force               as run --force: an existing output is not noted\n"},
    {H_ALL | H_RUN,
     "  --resume              continue the run checkpointed in the output file (same config,\n"
     "                        but output.path and the checkpoint settings may differ, and\n"
     "                        draws may grow: the new ones are added, to a finished file too);\n"
     "                        starts it when there is no file yet; a finished file with as many\n"
     "                        draws is left alone\n"},
    {H_ALL | H_RUN, "  --progress MODE       auto (bar on a terminal, log lines otherwise), bar, log, none\n"},
    {H_ALL | H_RUN | H_CHECK,
     "  --mem-per-rank SIZE   memory one rank may use, e.g. 4G (= 4GB = 4GiB: K, M, G, T are\n"
     "                        powers of 1024; a bare number is bytes) (default, in a Slurm\n"
     "                        batch job or allocation: SLURM_MEM_PER_CPU x SLURM_CPUS_PER_TASK,\n"
     "                        or SLURM_MEM_PER_NODE / the ranks on the node; else, as for a\n"
     "                        bare srun, which sets neither, the machine's memory divided by\n"
     "                        the ranks on it); \"ranks_per_draw\": \"auto\"\n"
     "                        and \"solver\": \"auto\" pick the group size and grid solver that\n"
     "                        finish soonest within it (`check` shows the choice); a run\n"
     "                        whose results (rank 0 keeps every draw's figures, and the\n"
     "                        spectra spacings and output.eigenvalues need) would not fit on\n"
     "                        rank 0's node beside its ranks' draws is refused\n"},
    {H_ALL | H_MERGE,
     "  --mem-per-rank SIZE   (merge) memory merge may use (default, in a Slurm job: SLURM_MEM_PER_CPU x\n"
     "                        SLURM_CPUS_PER_TASK or SLURM_MEM_PER_NODE; else the machine's);\n"
     "                        when the sweep's results are larger, merge goes a batch of points\n"
     "                        at a time, reading the parts once more to count their draws\n"},
    {H_ALL,
     "  --points I/K          (run) compute only slice I of K of the sweep's points (contiguous,\n"
     "                        0 <= I < K), e.g. --points $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT for\n"
     "                        --array=0-(K-1); to run some tasks again, jobs/sweep-array.sbatch\n"
     "                        takes K from RMTMC_SLICES (with --array=3,5 SLURM_ARRAY_TASK_COUNT is 2);\n"
     "                        (check) plan and time that slice only, for the array's time limit\n"},
    {H_RUN,
     "  --points I/K          compute only slice I of K of the sweep's points (contiguous,\n"
     "                        0 <= I < K) into its own file, for `merge`; e.g. --points\n"
     "                        $SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT for --array=0-(K-1);\n"
     "                        to run some tasks again, jobs/sweep-array.sbatch takes K from\n"
     "                        RMTMC_SLICES (with --array=3,5 SLURM_ARRAY_TASK_COUNT is 2); a\n"
     "                        part resumes with the same --points only\n"},
    {H_CHECK, "  --points I/K          plan and time slice I of K only, for a job array's time limit\n"},
    {H_ALL | H_CHECK, "  --ranks P             (check) plan as if run on P ranks\n"},
    {H_ALL | H_CHECK,
     "  --ranks-per-node R    (check) of which R on rank 0's node, whose memory holds the results\n"
     "                        beside its ranks' draws (default: SLURM_NTASKS_PER_NODE in a Slurm\n"
     "                        job that sets it, else all P: one node)\n"},
    {H_ALL | H_CHECK,
     "  --time SECONDS        (check) also time draws on this machine, spending at most about\n"
     "                        SECONDS, and estimate the run's duration from them (for a batch\n"
     "                        job's time limit: run it on a node like the job's)\n"},
    {H_ANALYZE, "  --dataset NAME        the HDF5 input's 2-D dataset (default hessian_evals)\n"},
    {H_ANALYZE, "  -c, --config FILE     a config choosing the statistics (see above)\n"},
    {H_ALL, "  --version, --help\n"},
};

static const help_item help_exit[] = {
    {H_ALL,
     "  0 done; 1 runtime failure; 2 bad usage or bad config (one line on stderr naming\n"
     "  the file, the JSON path and the problem; no output file is created or touched);\n"
     "  3 interrupted by SIGTERM/SIGINT/SIGUSR1 after writing a checkpoint (a signal to\n"
     "  mpiexec itself: Open MPI's mpiexec exits 1, and kills the ranks a second after passing\n"
     "  the signal on unless OMPI_MCA_odls_base_sigkill_timeout gives the checkpoint longer).\n"},
    {H_RUN,
     "  0 done; 1 runtime failure (max_failures exceeded, writing failed); 2 bad usage,\n"
     "  bad config or an output it may not write (one line on stderr naming the file, the\n"
     "  JSON path and the problem; no output file is created or touched); 3 interrupted by\n"
     "  SIGTERM/SIGINT/SIGUSR1 after writing a checkpoint (a signal to mpiexec itself: Open\n"
     "  MPI's mpiexec exits 1, and kills the ranks a second after passing the signal on\n"
     "  unless OMPI_MCA_odls_base_sigkill_timeout gives the checkpoint longer).\n"},
    {H_CHECK,
     "  0 the plan fits; 1 timing draws (--time) failed; 2 bad usage, bad config, or a plan\n"
     "  that does not fit in --mem-per-rank.\n"},
    {H_MERGE,
     "  0 merged (complete or not); 1 writing failed; 2 bad usage, parts of different\n"
     "  configs, overlapping, damaged or missing parts, or OUT.h5 exists without --force (one\n"
     "  line on stderr; OUT.h5 is not touched); 3 stopped by SIGTERM/SIGINT/SIGUSR1/SIGHUP\n"
     "  before OUT.h5 was in place (nothing written or left behind; run it again).\n"},
    {H_ANALYZE,
     "  0 done; 1 writing failed; 2 bad usage, a bad config or input (one line on stderr\n"
     "  naming the file and the problem; no output file is created or touched); 3 stopped by\n"
     "  SIGTERM/SIGINT/SIGUSR1/SIGHUP before OUT.h5 was in place (nothing left behind).\n"},
};

static const help_item help_env[] = {
    {H_ALL | H_RUN | H_CHECK | H_MERGE | H_ANALYZE,
     "  RMT_BLAS_THREADS   BLAS threads per rank, 1 to 1024 (default 1: one rank per core; above\n"
     "                     1 the automatic choice keeps dsyevr at every n)\n"},
    {H_ALL | H_RUN | H_CHECK,
     "  RMT_EIG_DRIVER     LAPACK driver: auto (default: dsyevr below n = 2250, dsyevd_2stage\n"
     "                     from there), syevr, syevd, syev, syevd_2stage, syev_2stage\n"
     "  RMT_EIG_2STAGE_MIN n from which auto uses the two-stage driver (default 2250)\n"
     "  RMT_EIG_2STAGE_KD  band half-width of the two-stage driver (default n/80, 32 to 96;\n"
     "                     0: LAPACK's own dsyevd_2stage and its band)\n"
     "  RMT_GRID_DRIVER    eigensolver on process grids where the config's \"solver\" is auto:\n"
     "                     pdsyev, pdsyevr, elpa (unset or auto: the fastest measured solver\n"
     "                     that fits in --mem-per-rank)\n"},
    {H_ALL | H_RUN | H_CHECK,
     "  RMT_FAIL_DRAWS     POINT:DRAW,... make those draws fail as if the solver had (status 99),\n"
     "                     to try failure handling and max_failures\n"
     "  RMT_JOURNAL_FROM   seconds a full checkpoint (a rewrite of the output) must take before\n"
     "                     checkpoints between rewrites commit OUT.h5.journal instead (default\n"
     "                     0.5; see README, \"Interruptions\")\n"},
    {H_ALL | H_RUN | H_CHECK | H_MERGE | H_ANALYZE,
     "  RMT_DEBUG          error messages also name the source file and line\n"
     "  A value these variables cannot take is refused (exit 2), not ignored.\n"},
};

/* a command's own page leaves out the "(check) " or "(merge) " that says
 * which command an option of the whole help belongs to */
static void print_items(const help_item *it, size_t n, int page)
{
    for (size_t i = 0; i < n; i++) {
        if (!(it[i].in & page)) continue;
        const char *t = it[i].text, *m;
        while (page != H_ALL && ((m = strstr(t, "(check) ")) || (m = strstr(t, "(merge) ")))) {
            fwrite(t, 1, (size_t)(m - t), stdout);
            t = m + strlen("(check) ");
        }
        fputs(t, stdout);
    }
}

/* the usage lines of one command (cmd >= 0) or of all */
static void print_usage(int cmd)
{
    int first = 1;
    for (int c = 0; c < 4; c++) {
        if (cmd >= 0 && c != cmd) continue;
        fputs(first ? "usage: " : "       ", stdout);
        fputs(cmd_usage[c], stdout);
        first = 0;
    }
    if (cmd < 0) fputs("       rmtmc --version | --help\n", stdout);
}

static void print_help(int cmd)
{
    int page = cmd < 0 ? H_ALL : 2 << cmd;
    print_usage(cmd);
    fputc('\n', stdout);
    fputs(cmd < 0 ? help_intro : cmd_about[cmd], stdout);
    fputs(cmd < 0 ? "\nOptions (those taking a value accept --name=value too)\n"
                  : "\nOptions (those taking a value accept --name=value too; --help)\n", stdout);
    print_items(help_options, sizeof help_options / sizeof *help_options, page);
    fputs("\nExit codes\n", stdout);
    print_items(help_exit, sizeof help_exit / sizeof *help_exit, page);
    fputs("\nEnvironment\n", stdout);
    print_items(help_env, sizeof help_env / sizeof *help_env, page);
    fputs(cmd < 0 ? "\nThe config schema and the output layout are described in README.md and configs/README.md.\n"
                  : "\nrmtmc --help lists every command; the config schema and the output layout are in\n"
                    "README.md and configs/README.md.\n", stdout);
}

typedef struct {
    const char *cmd;
    const char *config;
    const char *output;
    int force;
    int resume;
    rmt_progress progress;
    double mem_per_rank;   /* bytes; 0 = not given */
    int ranks;             /* check --ranks */
    int ranks_per_node;    /* check --ranks-per-node; 0 = not given */
    double time_budget;    /* check --time: seconds of draws to time; 0 = none */
    const char *analyze_config; /* analyze -c */
    const char *dataset;   /* analyze --dataset */
    unsigned slice_i, slice_k; /* run --points I/K; k = 0 when not given */
} args;

static int parse_size(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v > 0)) return -1;
    int unit = 1;
    switch (*end) {
    case 'k': case 'K': v *= 1024.0; end++; break;
    case 'm': case 'M': v *= 1048576.0; end++; break;
    case 'g': case 'G': v *= 1073741824.0; end++; break;
    case 't': case 'T': v *= 1099511627776.0; end++; break;
    default: unit = 0; break;
    }
    if (unit && *end == 'i' && (end[1] == 'B' || end[1] == 'b')) end++; /* 4GiB, as check prints sizes */
    if (*end == 'B' || *end == 'b') end++;
    if (*end) return -1;
    *out = v;
    return 0;
}

/* the options that take a value, as parse_args reads them */
static const char *const value_options[] = {"-o",     "-c",        "--output", "--progress", "--mem-per-rank", "--points",
                                            "--config", "--dataset", "--time",   "--ranks",    "--ranks-per-node"};

/* "--name=value" as "--name value", for the options that take a value;
 * returns argv itself when there is none, else a new vector (kept for the
 * process's life: the values are used to the end). */
static char **split_equals(int argc, char **argv, int *outc)
{
    const char *const *with_value = value_options + 2; /* the long ones */
    const size_t nwith = sizeof value_options / sizeof *value_options - 2;
    int extra = 0;
    for (int i = 1; i < argc; i++)
        for (size_t k = 0; k < nwith; k++) {
            size_t l = strlen(with_value[k]);
            extra += !strncmp(argv[i], with_value[k], l) && argv[i][l] == '=';
        }
    *outc = argc;
    if (!extra) return argv;
    char **v = malloc(sizeof(char *) * (size_t)(argc + extra + 1));
    if (!v) return argv;
    int n = 0;
    for (int i = 0; i < argc; i++) {
        char *eq = i > 0 && !strncmp(argv[i], "--", 2) ? strchr(argv[i], '=') : NULL;
        int split = 0;
        for (size_t k = 0; eq && k < nwith; k++)
            split |= (size_t)(eq - argv[i]) == strlen(with_value[k]) && !strncmp(argv[i], with_value[k], strlen(with_value[k]));
        char *name = split ? strndup(argv[i], (size_t)(eq - argv[i])) : NULL;
        if (split && name) {
            v[n++] = name;
            v[n++] = eq + 1;
        } else {
            v[n++] = argv[i];
        }
    }
    v[n] = NULL;
    *outc = n;
    return v;
}

/* -o and -c as their long names */
static const char *long_name(const char *o)
{
    return !strcmp(o, "-o") ? "--output" : !strcmp(o, "-c") ? "--config" : o;
}

static rmt_status parse_args(int argc, char **argv, args *a)
{
    memset(a, 0, sizeof *a);
    argv = split_equals(argc, argv, &argc);
    a->progress = RMT_PROGRESS_AUTO;
    if (argc < 2) return RMT_ERR(RMT_EUSAGE, "missing command (run, check, analyze, merge); see rmtmc --help");
    a->cmd = argv[1];
    if (strcmp(a->cmd, "run") && strcmp(a->cmd, "check") && strcmp(a->cmd, "analyze"))
        return RMT_ERR(RMT_EUSAGE, "unknown command '%s' (run, check, analyze, merge); see rmtmc --help", a->cmd);
    int analyze = !strcmp(a->cmd, "analyze"), run = !strcmp(a->cmd, "run");
    for (int i = 2; i < argc; i++) {
        const char *o = argv[i];
        const char *val = i + 1 < argc ? argv[i + 1] : NULL;
        /* an option given twice with two values (a job template's --points
         * and the user's): which one was meant is unknown, so refuse */
        for (int j = 2; val && *o == '-' && j < i; j++) {
            const char *pj = argv[j];
            int same = !strcmp(long_name(pj), long_name(o));
            int takes = 0;
            for (size_t k = 0; k < sizeof value_options / sizeof *value_options; k++) takes |= !strcmp(o, value_options[k]);
            if (same && takes && strcmp(argv[j + 1], val))
                return RMT_ERR(RMT_EUSAGE, "%s given twice (%s %s, then %s %s); give it once", o, pj, argv[j + 1], o, val);
        }
        if (!strcmp(o, "-o") || !strcmp(o, "--output")) {
            if (!val || !*val) return RMT_ERR(RMT_EUSAGE, "%s needs a file name", o);
            a->output = val;
            i++;
        } else if (!strcmp(o, "--force")) {
            a->force = 1;
        } else if (!strcmp(o, "--resume") && run) {
            a->resume = 1;
        } else if (!strcmp(o, "--progress") && run) {
            if (!val) return RMT_ERR(RMT_EUSAGE, "--progress needs auto, bar, log or none");
            if (!strcmp(val, "auto")) a->progress = RMT_PROGRESS_AUTO;
            else if (!strcmp(val, "bar")) a->progress = RMT_PROGRESS_BAR;
            else if (!strcmp(val, "log")) a->progress = RMT_PROGRESS_LOG;
            else if (!strcmp(val, "none")) a->progress = RMT_PROGRESS_NONE;
            else return RMT_ERR(RMT_EUSAGE, "--progress: '%s' is not auto, bar, log or none", val);
            i++;
        } else if (!strcmp(o, "--mem-per-rank") && !analyze) {
            if (!val || parse_size(val, &a->mem_per_rank))
                return RMT_ERR(RMT_EUSAGE, "--mem-per-rank needs a size such as 4G, found '%s'", val ? val : "");
            i++;
        } else if (!strcmp(o, "--points") && (!strcmp(a->cmd, "run") || !strcmp(a->cmd, "check"))) {
            unsigned si = 0, sk = 0;
            char extra;
            if (!val || sscanf(val, "%u/%u%c", &si, &sk, &extra) != 2 || sk < 1 || si >= sk)
                return RMT_ERR(RMT_EUSAGE, "--points needs I/K with 0 <= I < K (slice I of K), found '%s'", val ? val : "");
            a->slice_i = si;
            a->slice_k = sk;
            i++;
        } else if ((!strcmp(o, "-c") || !strcmp(o, "--config")) && analyze) {
            if (!val) return RMT_ERR(RMT_EUSAGE, "%s needs a config file", o);
            a->analyze_config = val;
            i++;
        } else if (!strcmp(o, "--dataset") && analyze) {
            if (!val) return RMT_ERR(RMT_EUSAGE, "--dataset needs a dataset name");
            a->dataset = val;
            i++;
        } else if (!strcmp(o, "--time") && !strcmp(a->cmd, "check")) {
            char *end = NULL;
            double t = val ? strtod(val, &end) : 0;
            if (!val || end == val || *end || !(t > 0) || t > 86400)
                return RMT_ERR(RMT_EUSAGE, "--time needs seconds, more than 0 and at most 86400, found '%s'",
                               val ? val : "");
            a->time_budget = t;
            i++;
        } else if (!strcmp(o, "--ranks") && !strcmp(a->cmd, "check")) {
            char *end = NULL;
            long r = val ? strtol(val, &end, 10) : 0;
            if (!val || end == val || *end || r < 1 || r > 1000000000L)
                return RMT_ERR(RMT_EUSAGE, "--ranks needs a positive integer up to 1e9, found '%s'", val ? val : "");
            a->ranks = (int)r;
            i++;
        } else if (!strcmp(o, "--ranks-per-node") && !strcmp(a->cmd, "check")) {
            char *end = NULL;
            long r = val ? strtol(val, &end, 10) : 0;
            if (!val || end == val || *end || r < 1 || r > 1000000000L)
                return RMT_ERR(RMT_EUSAGE, "--ranks-per-node needs a positive integer up to 1e9, found '%s'",
                               val ? val : "");
            a->ranks_per_node = (int)r;
            i++;
        } else if (o[0] == '-' && o[1]) {
            return RMT_ERR(RMT_EUSAGE, "%s: unknown option '%s'; see rmtmc %s --help", a->cmd, o, a->cmd);
        } else if (!a->config) {
            a->config = o;
        } else {
            return RMT_ERR(RMT_EUSAGE, "unexpected argument '%s'; see rmtmc --help", o);
        }
    }
    if (!a->config)
        return RMT_ERR(RMT_EUSAGE, "%s: missing %s; see rmtmc --help", a->cmd, analyze ? "SPECTRA file" : "CONFIG.json");
    if (analyze && !a->output) return RMT_ERR(RMT_EUSAGE, "analyze: missing -o OUT.h5");
    if (a->resume && a->force) return RMT_ERR(RMT_EUSAGE, "--resume and --force exclude each other");
    return RMT_OK;
}

/* Memory one rank is granted, and a phrase saying where that figure comes from. */
static double mem_granted(const args *a, int ranks_on_node, char *why, size_t whylen)
{
    char g[32];
    if (a->mem_per_rank > 0) {
        rmt_format_bytes(a->mem_per_rank, g, sizeof g);
        snprintf(why, whylen, "--mem-per-rank %s", g);
        return a->mem_per_rank;
    }
    const char *cpu = getenv("SLURM_MEM_PER_CPU"), *node = getenv("SLURM_MEM_PER_NODE");
    if (cpu && atof(cpu) > 0) {
        /* a rank gets all the CPUs of its task */
        const char *cpt = getenv("SLURM_CPUS_PER_TASK");
        int c = cpt && atoi(cpt) > 0 ? atoi(cpt) : 1;
        rmt_format_bytes(atof(cpu) * 1048576.0 * c, g, sizeof g);
        snprintf(why, whylen, "SLURM_MEM_PER_CPU = %s MiB x %d CPU%s per task = %s", cpu, c, c == 1 ? "" : "s", g);
        return atof(cpu) * 1048576.0 * c;
    }
    if (node && atof(node) > 0) {
        snprintf(why, whylen, "SLURM_MEM_PER_NODE = %s MiB / %d rank%s", node, ranks_on_node,
                 ranks_on_node == 1 ? "" : "s");
        return atof(node) * 1048576.0 / ranks_on_node;
    }
    double phys = (double)sysconf(_SC_PHYS_PAGES) * (double)sysconf(_SC_PAGESIZE);
    snprintf(why, whylen, "%.3g GiB of memory / %d rank%s on this node", phys / 1073741824.0, ranks_on_node,
             ranks_on_node == 1 ? "" : "s");
    return phys / ranks_on_node;
}

/* What every rank takes whatever its draws (MPI, HDF5, BLAS):
 * peak_rss_bytes of runs of tiny draws, 24-29 MiB on 1 and 2 ranks and on
 * a 1x2 grid */
#define RANK_BASE_BYTES (30.0 * 1048576.0)

/* Memory one rank may use for its draws (and rank 0 for the results): what
 * it is granted less what every rank takes anyway; <= 0 when nothing is
 * left (budget_left says so). */
static double mem_budget(const args *a, int ranks_on_node, char *why, size_t whylen)
{
    double granted = mem_granted(a, ranks_on_node, why, whylen);
    size_t at = strlen(why);
    if (at < whylen) snprintf(why + at, whylen - at, ", less the ~30 MiB every rank takes");
    return granted - RANK_BASE_BYTES;
}

static rmt_status budget_left(double budget, const char *why)
{
    if (budget > 0) return RMT_OK;
    return RMT_ERR(RMT_EUSAGE, "memory per rank: nothing is left for draws (%s)", why);
}

static char *join_argv(int argc, char **argv)
{
    size_t n = 1;
    for (int i = 0; i < argc; i++) n += strlen(argv[i]) + 1;
    char *s = malloc(n);
    if (!s) return NULL;
    s[0] = '\0';
    for (int i = 0; i < argc; i++) {
        if (i) strcat(s, " ");
        strcat(s, argv[i]);
    }
    return s;
}

/* Hold an exclusive lock on OUT.lock for the run, so that two runs (a
 * resumed job and a forgotten one) never write the same file. The lock
 * dies with the process. Returns the descriptor (kept open) or -1. */
static int lock_output(const char *path, rmt_status *s)
{
    size_t len = strlen(path) + 6;
    char *lk = malloc(len);
    if (!lk) {
        *s = RMT_ERR(RMT_ERUNTIME, "out of memory");
        return -1;
    }
    snprintf(lk, len, "%s.lock", path);
    int fd = -1;
    /* a run ending unlinks its lock file: one opened before that and
     * locked after is no longer the lock at the path, so try again */
    for (int tries = 0; tries < 100; tries++) {
        fd = open(lk, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0) {
            *s = RMT_ERR(RMT_EUSAGE, "%s: cannot create: %s", lk, strerror(errno));
            break;
        }
        if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
            if (errno != EWOULDBLOCK) {
                /* a filesystem without locks (Lustre mounted without flock:
                 * ENOSYS; NFS without lockd: ENOLCK): run unguarded */
                fprintf(stderr, "rmtmc: warning: %s: cannot lock (%s; the filesystem does not support flock?): "
                        "a second run on this output would not be refused\n", lk, strerror(errno));
                break;
            }
            *s = RMT_ERR(RMT_EUSAGE, "%s: another rmtmc run is writing this output (lock %s held)", path, lk);
            close(fd);
            fd = -1;
            break;
        }
        struct stat held, there;
        if (fstat(fd, &held) == 0 && stat(lk, &there) == 0 && held.st_dev == there.st_dev && held.st_ino == there.st_ino)
            break;
        close(fd);
        fd = -1;
    }
    if (fd < 0 && !*s) *s = RMT_ERR(RMT_EUSAGE, "%s: cannot take the lock %s", path, lk);
    free(lk);
    return fd;
}

/* Whether another process holds path's lock (a run writing it now). */
static int lock_held(const char *path)
{
    size_t len = strlen(path) + 6;
    char *lk = malloc(len);
    if (!lk) return 0;
    snprintf(lk, len, "%s.lock", path);
    int fd = open(lk, O_RDONLY | O_CLOEXEC), held = 0;
    free(lk);
    if (fd < 0) return 0;
    held = flock(fd, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

static void unlock_output(const char *path, int fd)
{
    if (fd < 0) return;
    size_t len = strlen(path) + 6;
    char *lk = malloc(len);
    if (lk) {
        snprintf(lk, len, "%s.lock", path);
        unlink(lk);
        free(lk);
    }
    close(fd);
}

/* merge and analyze stopped by a signal (scancel, Ctrl-C): before their
 * output is in place they remove OUT.h5.tmp (and merge its OUT.h5.lock),
 * say so and exit 3; once it is in place the signal is let pass and the
 * command ends as usual. Only async-signal-safe calls in the handler. */
static char *stop_tmp, *stop_lock, *stop_msg;
static size_t stop_len;
static sig_atomic_t stop_commits;

static void stop_handler(int sig)
{
    (void)sig;
    /* the output is being moved into place, or is: let the command end */
    if (__atomic_load_n(&rmt_h5out_committing, __ATOMIC_SEQ_CST) ||
        __atomic_load_n(&rmt_h5out_commits, __ATOMIC_SEQ_CST) != stop_commits)
        return;
    if (stop_tmp) unlink(stop_tmp);
    if (stop_lock) unlink(stop_lock);
    if (stop_msg && write(STDERR_FILENO, stop_msg, stop_len) < 0) _exit(3);
    _exit(3);
}

static void stop_cleanly(const char *cmd, const char *out, int locked)
{
    size_t n = strlen(out) + 200;
    stop_tmp = malloc(n);
    stop_lock = locked ? malloc(n) : NULL;
    stop_msg = malloc(n);
    if (!stop_tmp || !stop_msg || (locked && !stop_lock)) return;
    snprintf(stop_tmp, n, "%s.tmp", out);
    if (stop_lock) snprintf(stop_lock, n, "%s.lock", out);
    snprintf(stop_msg, n, "rmtmc: %s interrupted by a signal: %s not written (its inputs are untouched); run it again\n",
             cmd, out);
    stop_len = strlen(stop_msg);
    stop_commits = rmt_h5out_commits;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = stop_handler;
    sa.sa_flags = SA_RESTART; /* after the commit the handler returns */
    sigemptyset(&sa.sa_mask);
    int sigs[] = {SIGTERM, SIGINT, SIGUSR1, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction was;
        /* a signal ignored on entry (nohup, a background job's SIGINT) stays ignored */
        if (sigaction(sigs[i], NULL, &was) == 0 && was.sa_handler == SIG_IGN) continue;
        sigaction(sigs[i], &sa, NULL);
    }
}

/* Bytes the output file of points [begin, end) will take at most
 * (checkpoints keep the spectra that spacings need), to refuse a run the
 * disk cannot hold. */
static double output_bytes(const rmt_plan *plan, uint32_t begin, uint32_t end)
{
    double b = 65536;
    for (uint32_t i = begin; i < end; i++) {
        const rmt_point *pt = &plan->points[i];
        b += 4096 + 8.0 * (double)rmt_stats_ncounts(&pt->stat) + 8.0 * (double)pt->stat.sp_bins;
        b += (double)pt->draws * 8.0 * (10.0 + pt->stat.moments);
        if (rmt_stats_needs_spectra(&pt->stat)) b += (double)pt->draws * 8.0 * (double)pt->ens.n;
    }
    return b;
}

/* The slice i of k (k = 0: the whole plan); resuming: the checkpoint there
 * already takes its room. */
static rmt_status check_space(const char *path, const rmt_plan *plan, uint32_t i, uint32_t k, int resuming)
{
    char *copy = strdup(path);
    if (!copy) return RMT_ERR(RMT_ERUNTIME, "out of memory");
    struct statvfs sv;
    rmt_status s = RMT_OK;
    uint32_t begin, end;
    rmt_plan_slice(plan, i, k, &begin, &end);
    /* the new file is written beside the old one before it replaces it */
    double one = output_bytes(plan, begin, end), need = 2.0 * one;
    struct stat sb;
    if (resuming && stat(path, &sb) == 0) need = fmax(one, need - (double)sb.st_size);
    const char *dir = dirname(copy);
    if (statvfs(dir, &sv) == 0) {
        double avail = (double)sv.f_bavail * (double)sv.f_frsize;
        if (sv.f_blocks == 0)
            s = RMT_ERR(RMT_EUSAGE, "%s: %s reports no blocks at all (a filesystem that holds no files, such as "
                        "/proc or /sys)", path, dir);
        else if (need > avail)
            s = RMT_ERR(RMT_EUSAGE, "%s: the output needs up to %.3g GB (twice, while a checkpoint replaces the last), "
                        "only %.3g GB are free there", path, need / 1e9, avail / 1e9);
    }
    free(copy);
    return s;
}

/* Whether two paths name one existing file (a link or another spelling included). */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return a && b && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* An output that is one of the command's inputs would be destroyed, --force or not. */
static rmt_status not_an_input(const char *out, const char *in, const char *what)
{
    if (same_file(out, in)) return RMT_ERR(RMT_EUSAGE, "%s: is the %s itself; write the output elsewhere (-o)", out, what);
    return RMT_OK;
}

/* Refuse outputs that would clobber a file or cannot be written, before any
 * work. from_config: the path is the config's output.path (named in the
 * message, with where a relative path is taken from); resume_config: the
 * config's JSON, to suggest --resume for an unfinished run of a config with
 * the same results there (rmt_config_same_results), else NULL. */
static rmt_status check_output(const char *path, int force, const char *from_config, const char *resume_config)
{
    struct stat sb;
    if (!*path) return RMT_ERR(RMT_EUSAGE, "the output file name is empty");
    if (path[strlen(path) - 1] == '/')
        return RMT_ERR(RMT_EUSAGE, "%s: names a directory (it ends with /), not an output file", path);
    if (stat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode)) return RMT_ERR(RMT_EUSAGE, "%s: is a directory, not an output file", path);
        if (lock_held(path))
            return RMT_ERR(RMT_EUSAGE, "%s: another rmtmc run is writing this output (lock %s.lock held)", path, path);
        if (!force) {
            rmt_h5_state st = {0, "", NULL, ""};
            int ours = resume_config && S_ISREG(sb.st_mode) && rmt_h5in_is_hdf5(path) &&
                       rmt_h5in_state(path, &st) == RMT_OK;
            int unfinished = ours && !st.complete && rmt_config_same_results(st.config_json, resume_config);
            int more = ours && !rmt_config_same_results(st.config_json, resume_config) &&
                       rmt_config_same_but_draws(st.config_json, resume_config);
            free(st.config_json);
            if (unfinished)
                return RMT_ERR(RMT_EUSAGE, "%s: exists and holds an unfinished run; continue it with --resume, "
                               "or use --force to overwrite it", path);
            if (more)
                return RMT_ERR(RMT_EUSAGE, "%s: exists and holds this config's run with other numbers of draws; "
                               "--resume adds the draws it lacks, --force overwrites it", path);
            return RMT_ERR(RMT_EUSAGE, "%s: exists; use --force to overwrite it", path);
        }
    }
    char *copy = strdup(path);
    if (!copy) return RMT_ERR(RMT_ERUNTIME, "out of memory");
    const char *dir = dirname(copy);
    rmt_status s = RMT_OK;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        char cwd[4096];
        if (from_config && path[0] != '/' && getcwd(cwd, sizeof cwd))
            s = RMT_ERR(RMT_EUSAGE, "%s: output.path: directory %s does not exist (a relative path is taken from "
                        "the current directory, %s; or give -o FILE)", from_config, dir, cwd);
        else if (from_config)
            s = RMT_ERR(RMT_EUSAGE, "%s: output.path: directory %s does not exist (or give -o FILE)", from_config, dir);
        else
            s = RMT_ERR(RMT_EUSAGE, "%s: directory %s does not exist", path, dir);
    } else if (access(dir, W_OK) != 0) {
        s = RMT_ERR(RMT_EUSAGE, "%s: directory %s is not writable", path, dir);
    } else {
        /* OUT.lock, OUT.tmp and OUT.journal are written beside it */
        const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
        long most = pathconf(dir, _PC_NAME_MAX);
        if (most <= 0) most = 255;
        if ((long)strlen(base) + 8 > most)
            s = RMT_ERR(RMT_EUSAGE, "%s: the file name has %zu characters; with .journal added it must fit in the "
                        "%ld the filesystem allows", path, strlen(base), most);
    }
    free(copy);
    return s;
}

/* The environment variables hold values they may: those of drawing and
 * solving (run, check), or the BLAS threads only (merge, analyze). */
static rmt_status check_env(int solving)
{
    if (!solving) return rmt_solve_check_threads_env();
    rmt_status s = rmt_solve_check_env();
    if (!s) s = rmt_grid_check_env();
    if (!s) s = rmt_draw_check_env();
    const char *jf = getenv("RMT_JOURNAL_FROM");
    if (!s && jf && *jf) {
        char *end;
        errno = 0;
        double v = strtod(jf, &end);
        if (*end || errno || !(v >= 0))
            s = RMT_ERR(RMT_EUSAGE, "RMT_JOURNAL_FROM: expected seconds (a number >= 0), found '%s'", jf);
    }
    return s;
}

/* Groups of g consecutive ranks: with `ranks` not a multiple of a point's
 * ranks_per_draw, the last ranks % g sit out its draws, and with more
 * groups than the master computes with, rank 0's group only hands out
 * draws. Say so, once per such g (prefix: "" for check's plan, "rmtmc: "
 * on run's stderr). */
static void idle_ranks_note(FILE *to, const char *prefix, const rmt_plan *plan, uint32_t begin, uint32_t end,
                            int ranks)
{
    int said[64] = {0}, nsaid = 0;
    for (uint32_t i = begin; i < end; i++) {
        int g = plan->points[i].ranks_per_draw, seen = 0;
        if (g <= 1 || g > ranks) continue;
        int rest = ranks % g, groups = ranks / g, master_idle = !rmt_master_computes(groups, g);
        if (!rest && !master_idle) continue;
        for (int k = 0; k < nsaid; k++) seen |= said[k] == g;
        if (seen) continue;
        if (nsaid < 64) said[nsaid++] = g;
        if (rest)
            fprintf(to, "%snote: points with %d ranks per draw (the first: point %u) leave %d of the %d ranks idle "
                    "while they run (%d is not a multiple of %d)\n", prefix, g, i, rest, ranks, ranks, g);
        if (master_idle)
            fprintf(to, "%snote: points with %d ranks per draw (the first: point %u) run in %d groups, more than "
                    "the %d rank 0 computes with, so its group of %d ranks only hands out draws\n", prefix, g, i,
                    groups, RMT_MASTER_COMPUTES_MAX_GROUPS, g);
    }
}

/* A dense percolation "p" whose mean degree at this n is small: its theory
 * values are the dense limit (no atom at zero, the semicircle's moments),
 * which such a matrix is far from; "mean_degree" gives the sparse regime's.
 * Said once per experiment (prefix as for idle_ranks_note). */
#define SPARSE_P_DEGREE 20.0
static void sparse_p_note(FILE *to, const char *prefix, const rmt_plan *plan, uint32_t begin, uint32_t end)
{
    for (uint32_t e = 0; e < plan->nexp; e++)
        for (uint32_t i = begin; i < end; i++) {
            const rmt_ensemble *en = &plan->points[i].ens;
            if (plan->points[i].experiment != e || (en->kind != RMT_ENS_WIGNER && en->kind != RMT_ENS_WISHART))
                continue;
            const rmt_factor *m = &en->mod;
            double dim = en->kind == RMT_ENS_WISHART && en->t < en->n ? (double)en->t : (double)en->n;
            if (m->keep <= 0 || m->keep >= 1 || m->sparse || dim * m->keep >= SPARSE_P_DEGREE) continue;
            fprintf(to, "%snote: %s: percolation p = %.3g at n = %lld keeps %.3g entries a row on average (point %u): "
                    "its theory values are the dense limit (%s), far from such a sparse matrix; \"mean_degree\": "
                    "%.3g gives the sparse regime's\n", prefix, plan->exp_names[e], m->keep, (long long)en->n,
                    dim * m->keep, i, en->kind == RMT_ENS_WIGNER ? "no atom at zero, the semicircle's moments"
                                                                 : "Marchenko-Pastur's", (double)en->n * m->keep);
            break;
        }
}

/* Seconds of draws of points [begin, end) on `ranks` ranks, given each
 * point's seconds per draw on one rank (t[i]; NULL: its flops at
 * 5 GFLOP/s). The points of each
 * group size g run one phase after another; a phase takes its core-seconds
 * spread over the ranks of the groups that compute (rank 0's group may
 * only hand out draws), and no less than its longest draw (a grid's draw
 * takes t / g at best). */
static double plan_seconds(const rmt_plan *plan, uint32_t begin, uint32_t end, const double *t, int ranks,
                           double *core_seconds)
{
    double all_s = 0, total = 0;
    for (int g = 0;;) {
        int next = 0; /* the next group size above g */
        for (uint32_t i = begin; i < end; i++) {
            int q = plan->points[i].ranks_per_draw > 0 ? plan->points[i].ranks_per_draw : 1;
            if (q > g && (next == 0 || q < next)) next = q;
        }
        if (next == 0 || next > ranks) break;
        g = next;
        double core_s = 0, longest = 0;
        for (uint32_t i = begin; i < end; i++) {
            const rmt_point *pt = &plan->points[i];
            if ((pt->ranks_per_draw > 0 ? pt->ranks_per_draw : 1) != g) continue;
            double ti = t ? t[i] : rmt_ensemble_flops(&pt->ens) / 5e9;
            core_s += ti * pt->draws;
            if (pt->draws > 0 && ti / g > longest) longest = ti / g;
        }
        int groups = ranks / g;
        if (!rmt_master_computes(groups, g)) groups--;
        all_s += core_s;
        total += fmax(core_s / (double)(groups * g), longest);
    }
    if (core_seconds) *core_seconds = all_s;
    return total;
}

/* Rank 0 keeps every draw's figures, and the spectra spacings and
 * output.eigenvalues need, for the whole run (rmt_results_bytes). Refuse a
 * run whose results would not fit on rank 0's node beside the draws of its
 * ranks, before any work: it would otherwise die at a checkpoint, hours
 * in, and again on --resume. `budget` is the memory of one of the
 * `on_node` ranks there (mem_budget). */
static rmt_status check_results_memory(const rmt_plan *plan, uint32_t begin, uint32_t end, int on_node, double budget,
                                       const char *why)
{
    uint32_t big, most_draws = begin;
    double keep = rmt_results_bytes(plan, begin, end, &big), work = 0;
    for (uint32_t i = begin; i < end; i++) {
        const rmt_point *pt = &plan->points[i];
        int g = pt->ranks_per_draw > 0 ? pt->ranks_per_draw : 1;
        work = fmax(work, rmt_point_bytes(&pt->ens, g, pt->grid_solver));
        if (pt->draws > plan->points[most_draws].draws) most_draws = i;
    }
    double room = budget * on_node - work * on_node;
    if (end <= begin || keep <= room) return RMT_OK;
    char k[32], r[32], w[32];
    rmt_format_bytes(keep, k, sizeof k);
    rmt_format_bytes(fmax(room, 0), r, sizeof r);
    rmt_format_bytes(work, w, sizeof w);
    if (big == UINT32_MAX) {
        const rmt_point *pt = &plan->points[most_draws];
        return RMT_ERR(RMT_EUSAGE,
                       "%s: %sdraws: rank 0 keeps %d bytes of figures for each draw (and %.0f more while it writes "
                       "them): %s for %u point%s (point %u "
                       "alone: %u draws), more than the %s its node has beside the draws of its %d rank%s (%s each; memory per "
                       "rank: %s); fewer draws would fit",
                       plan->config_path, plan->exp_prefix[pt->experiment], (int)sizeof(rmt_draw_figs) + 1,
                       rmt_results_column_bytes(pt), k,
                       end - begin, end - begin == 1 ? "" : "s", most_draws, pt->draws, r, on_node, on_node == 1 ? "" : "s", w,
                       why);
    }
    const rmt_point *pt = &plan->points[big];
    int unfold = pt->stat.sp_unfold != RMT_UNFOLD_NONE;
    char one[32];
    rmt_format_bytes((double)pt->draws * (double)pt->ens.n * sizeof(double), one, sizeof one);
    return RMT_ERR(RMT_EUSAGE,
                   "%s: %s%s: rank 0 keeps every draw's spectrum %s: %s at a checkpoint (point %u: %u draws of n = %lld, "
                   "%s of spectra%s), more than the %s its node has beside the draws of its %d rank%s (%s each; memory per "
                   "rank: %s); fewer draws or a smaller n would fit",
                   plan->config_path, unfold ? plan->exp_prefix[pt->experiment] : "",
                   unfold ? "statistics.spacings" : "output.eigenvalues",
                   unfold ? "to unfold spacings" : "to write it", k, big, pt->draws, (long long)pt->ens.n, one,
                   unfold ? ", and three copies while it unfolds them" : "", r, on_node, on_node == 1 ? "" : "s", w,
                   why);
}

/* What each experiment of points [begin, end) measures, one line each:
 * an experiment's "statistics" replaces the top level's, so a key left out
 * there is not measured, which this shows. */
static void print_statistics(const rmt_plan *plan, uint32_t begin, uint32_t end)
{
    for (uint32_t e = 0; e < plan->nexp; e++) {
        uint32_t i = begin;
        while (i < end && plan->points[i].experiment != e) i++;
        if (i == end) continue;
        const rmt_statcfg *st = &plan->points[i].stat;
        char line[512] = "", part[160];
        size_t at = 0;
#define ADD(...)                                                                                                       \
    do {                                                                                                               \
        snprintf(part, sizeof part, __VA_ARGS__);                                                                      \
        at += (size_t)snprintf(line + at, at < sizeof line ? sizeof line - at : 0, "%s%s", at ? "; " : "", part);   \
    } while (0)
        int same_range = 1;
        for (uint32_t k = i; k < end; k++)
            if (plan->points[k].experiment == e)
                same_range &= plan->points[k].stat.lo == st->lo && plan->points[k].stat.hi == st->hi;
        if (st->bins > 0 && same_range) ADD("density %d bins on [%.4g, %.4g]", st->bins, st->lo, st->hi);
        else if (st->bins > 0) ADD("density %d bins (range by point, from its support)", st->bins);
        if (st->zero_tol_auto) ADD("zero mass (tolerance auto)");
        else ADD("zero mass (tolerance %.3g)", st->zero_tol);
        if (st->moments > 0) ADD("moments 1..%d", st->moments);
        if (st->sp_unfold != RMT_UNFOLD_NONE)
            ADD("spacings (%s%s unfolding, %d bins on [0, %.3g])", st->sp_per_draw ? "per-draw " : "",
                rmt_unfolding_name(st->sp_unfold), st->sp_bins, st->sp_max);
        if (st->gr_bins > 0) ADD("gap ratios (%d bins on [0, %.3g])", st->gr_bins, st->gr_max);
        if (st->eigenvalues) ADD("every spectrum stored");
#undef ADD
        printf("measures %s: %s\n", plan->exp_names[e], line);
    }
}

/* Points of one experiment with the same parameters (a swept value that
 * rounds to the same integer, as linspace on n can) are repeats of one
 * point with draws of their own: say so, once, naming the first (prefix
 * as for idle_ranks_note). */
static const rmt_plan *dup_plan;
static int by_params_same(const rmt_plan *plan, uint32_t i, uint32_t j)
{
    return plan->points[i].experiment == plan->points[j].experiment && !strcmp(plan->params_json[i], plan->params_json[j]);
}
static int by_params(const void *a, const void *b)
{
    uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
    const rmt_point *p = &dup_plan->points[i], *q = &dup_plan->points[j];
    if (p->experiment != q->experiment) return p->experiment < q->experiment ? -1 : 1;
    int c = strcmp(dup_plan->params_json[i], dup_plan->params_json[j]);
    return c ? c : i < j ? -1 : i > j;
}

static void duplicate_points_note(FILE *to, const char *prefix, const rmt_plan *plan, uint32_t begin, uint32_t end)
{
    if (end < begin + 2) return;
    uint32_t m = end - begin, *ix = malloc(sizeof(uint32_t) * m), repeats = 0, first = 0, of = 0;
    if (!ix) return;
    for (uint32_t k = 0; k < m; k++) ix[k] = begin + k;
    dup_plan = plan;
    qsort(ix, m, sizeof *ix, by_params);
    for (uint32_t k = 1; k < m; k++) {
        if (!by_params_same(plan, ix[k - 1], ix[k])) continue;
        if (repeats++ == 0 || ix[k] < first) { /* the lowest repeating point, and the one it repeats */
            first = ix[k];
            of = ix[k - 1];
        }
    }
    if (repeats)
        fprintf(to, "%snote: %u point%s repeat%s another's parameters (the first: point %u, as point %u: %s), as a "
                "swept value that rounds to the same integer does; each is run with draws of its own\n",
                prefix, repeats, repeats == 1 ? "" : "s", repeats == 1 ? "s" : "", first, of, plan->params_json[first]);
    free(ix);
}

/* Width of the experiment column: its longest name among points [begin, end), at least 16. */
static int name_width(const rmt_plan *plan, uint32_t begin, uint32_t end)
{
    size_t w = 16;
    for (uint32_t i = begin; i < end; i++) {
        size_t l = strlen(plan->exp_names[plan->points[i].experiment]);
        if (l > w) w = l;
    }
    return w > 64 ? 64 : (int)w;
}

static void print_plan(const rmt_plan *plan, uint32_t begin, uint32_t end, const char *out, double budget,
                       const char *why, int ranks, int on_node)
{
    printf("config   %s (sha256 %.16s...)\n", plan->config_path, plan->config_json ? plan->sha256 : "");
    printf("output   %s\n", out);
    printf("seed     %u\n", plan->seed);
    char node[48] = "";
    if (on_node < ranks) snprintf(node, sizeof node, ", %d on rank 0's node", on_node);
    char left[32];
    rmt_format_bytes(budget, left, sizeof left);
    printf("ranks    %d%s (memory per rank for draws %s: %s)\n", ranks, node, left, why);
    int w = name_width(plan, begin, end);
    printf("%6s  %-*s %8s %8s %6s %5s %5s %-8s %12s %10s  %s\n", "point", w, "experiment", "n", "draws", "ranks", "grid",
           "block", "solver", "mem/rank", "GFLOP", "parameters");
    double total = 0;
    uint64_t draws = 0;
    for (uint32_t i = begin; i < end; i++) {
        const rmt_point *pt = &plan->points[i];
        double fl = rmt_ensemble_flops(&pt->ens) * pt->draws;
        total += fl;
        draws += pt->draws;
        int g = pt->ranks_per_draw, r = 1, c = 1;
        char grid[16] = "-", block[16] = "-", rk[16] = "auto";
        const char *solver = "lapack";
        if (g > 0) snprintf(rk, sizeof rk, "%d", g);
        if (g > 1) {
            rmt_grid_shape_for(g, &r, &c);
            snprintf(grid, sizeof grid, "%dx%d", r, c);
            snprintf(block, sizeof block, "%d", RMT_GRID_NB);
            solver = rmt_grid_solver_name(pt->grid_solver);
        }
        if (pt->ens.kind == RMT_ENS_DIAGONAL) solver = "-";
        char mem[32];
        rmt_format_bytes(rmt_point_bytes(&pt->ens, g > 0 ? g : 1, pt->grid_solver), mem, sizeof mem);
        printf("%6u  %-*s %8lld %8u %6s %5s %5s %-8s %12s %10.3g  %s\n", i, w, plan->exp_names[pt->experiment],
               (long long)pt->ens.n, pt->draws, rk, grid, block, solver, mem, fl / 1e9, plan->params_json[i]);
    }
    /* a cautious 5 GFLOP/s per core; check --time measures this machine */
    int fits = 1;
    for (uint32_t i = begin; i < end; i++) fits &= plan->points[i].ranks_per_draw <= ranks;
    if (fits)
        printf("total    %u points, %llu draws, %.3g GFLOP (roughly %.3g s on %d core%s at a cautious 5 GFLOP/s per "
               "core; check --time measures)\n",
               end - begin, (unsigned long long)draws, total / 1e9, plan_seconds(plan, begin, end, NULL, ranks, NULL),
               ranks, ranks == 1 ? "" : "s");
    else
        printf("total    %u points, %llu draws, %.3g GFLOP (not on %d rank%s: see below)\n", end - begin,
               (unsigned long long)draws, total / 1e9, ranks, ranks == 1 ? "" : "s");
    /* peak_rss_bytes of 4 draws of n = 8 (1 and 2 ranks) and of a 1x2
     * grid at n = 64: 24-29 MiB */
    printf("memory   mem/rank is a draw's; every rank also takes ~30 MiB whatever the draw (MPI, HDF5, BLAS), "
           "which the memory per rank above leaves aside\n");
}

static void print_summary(const rmt_results *res, const char *out)
{
    const rmt_plan *plan = res->plan;
    if (res->slice_k > 1)
        printf("slice %u/%u: points %u to %u of %u (the other points are in the other slices' files)\n", res->slice_i,
               res->slice_k, res->p_begin, res->p_end - 1, plan->npoints);
    int w = name_width(plan, res->p_begin, res->p_end);
    printf("%6s  %-*s %8s %7s  %-22s %-10s  %s\n", "point", w, "experiment", "n", "draws", "zero mass (mean+-se)", "theory",
           "parameters");
    for (uint32_t i = res->p_begin; i < res->p_end; i++) {
        const rmt_point *pt = &plan->points[i];
        double zm, zse;
        rmt_results_estimate(res, i, "zero_fraction", 0, &zm, &zse);
        char zs[64];
        /* small masses (numerical zeros near a critical ratio) keep their digits */
        /* one draw has no standard error: n/a, as the file's NaN */
        if (!isfinite(zse)) snprintf(zs, sizeof zs, "%.4f +- n/a", zm);
        else if (zm != 0 && fabs(zm) < 0.01) snprintf(zs, sizeof zs, "%.3g +- %.2g", zm, zse);
        else snprintf(zs, sizeof zs, "%.4f +- %.4f", zm, zse);
        printf("%6u  %-*s %8lld %7u  %-22s %-10.4g  %s\n", i, w, plan->exp_names[pt->experiment], (long long)pt->ens.n,
               res->pts[i].done, zs, pt->zero_mass_theory, plan->params_json[i]);
        if (i - res->p_begin >= 19 && res->p_end - res->p_begin > 21) {
            printf("   ... %u more points in %s (/summary)\n", res->p_end - i - 1, out);
            break;
        }
    }
    printf("%llu draw%s (%llu failed) written to %s\n", (unsigned long long)res->done_draws,
           res->done_draws == 1 ? "" : "s", (unsigned long long)res->failed_draws, out);
}

/* When every rank runs on this node (Open MPI's launcher says so, a
 * one-node Slurm step, or a singleton), use the shared-memory transport
 * (pml ob1) rather than letting Open MPI open its other pml components:
 * opening cm probes the MTL network layers, ~0.2 s of MPI_Init on every
 * run (Debian's openmpi-mca-params.conf already excludes UCX). Across
 * nodes, and whenever OMPI_MCA_pml is set, Open MPI chooses as usual. */
static int launched_by_launcher; /* read before MPI_Init, which sets PMIX_RANK even in a singleton */

static void single_node_transport(void)
{
    const char *size = getenv("OMPI_COMM_WORLD_SIZE"), *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    int launched = size != NULL || getenv("PMI_RANK") || getenv("PMIX_RANK") || getenv("SLURM_PROCID");
    launched_by_launcher = launched;
    const char *step_nodes = getenv("SLURM_STEP_NUM_NODES");
    int one_node = size && local ? !strcmp(size, local) : step_nodes ? !strcmp(step_nodes, "1") : !launched;
    if (one_node) setenv("OMPI_MCA_pml", "ob1", 0);
    /* a singleton does not fork the helper daemon (orted) Open MPI starts
     * for MPI_Comm_spawn, which rmtmc never calls: Open MPI 4.1's orted
     * segfaults when a signal reaches it after its finalize unloaded the
     * component that installed its SIGTERM/SIGINT/SIGHUP handler, and its
     * crash report lands in rmtmc's stderr and its core in rmtmc's cwd */
    if (!launched) setenv("OMPI_MCA_ess_singleton_isolated", "1", 0);
}

/* The one line a failure prints; with RMT_DEBUG set, also where in the
 * source it was raised. */
static int finish(rmt_status s)
{
    if (s == RMT_OK) return 0;
    if (getenv("RMT_DEBUG")) fprintf(stderr, "rmtmc: %s [%s]\n", rmt_err_message(), rmt_err_where());
    else fprintf(stderr, "rmtmc: %s\n", rmt_err_message());
    return (int)s;
}

/* Draws 0, 1, ... of pt timed here, until 0.2 s or 50 draws: *per_draw
 * the seconds per draw, in this thread's
 * CPU time when the BLAS runs in it (one BLAS thread), which load on the
 * machine does not inflate (wall time did, 2x with the cores busy); in wall
 * time with RMT_BLAS_THREADS > 1, whose other threads this one's CPU time
 * would miss. *spent grows by the wall time taken. */
static rmt_status time_point(rmt_draw_ctx *ctx, const rmt_point *pt, int cpu, double *per_draw, double *spent)
{
    rmt_status s = RMT_OK;
    uint64_t *counts = calloc((size_t)rmt_stats_ncounts(&pt->stat) + 1, sizeof(uint64_t));
    double *eig = malloc(sizeof(double) * (size_t)(pt->ens.n > 0 ? pt->ens.n : 1));
    if (!counts || !eig) s = RMT_ERR(RMT_ERUNTIME, "out of memory");
    uint32_t d = 0;
    double t0 = rmt_draw_now(), c0 = rmt_draw_cpu_now(), t = 0;
    while (!s && d < pt->draws && d < 50 && (d == 0 || t < 0.2)) {
        rmt_draw_figs f;
        s = rmt_draw_run(ctx, pt, d++, &f, counts, eig);
        t = rmt_draw_now() - t0;
    }
    free(counts);
    free(eig);
    *per_draw = d ? (cpu ? rmt_draw_cpu_now() - c0 : t) / d : NAN;
    *spent += t;
    return s;
}

/* The Wigner size whose draws time this machine for grid points when no
 * one-rank point was timed. */
#define PROBE_N 1000

/* check --time: one-rank points' draws timed here (time_point; points
 * with the same ensemble JSON share a timing; no new point once `budget`
 * seconds are spent); the others scaled by flops from the timed point of
 * most flops. Grid points: their one-rank time scaled the same way (from
 * a Wigner n = PROBE_N timed here when no point was), divided by their
 * grid's measured efficiency (rmt_grid_efficiency, as "auto" uses; 0.5
 * where none is measured). Prints the estimate of the run on `ranks`
 * ranks. */
#define UNMEASURED_GRID_EFF 0.5
static rmt_status time_plan(const rmt_plan *plan, uint32_t begin, uint32_t end, double budget, int ranks)
{
    int threads = rmt_solve_init_threads(), cpu = threads == 1;
    rmt_draw_ctx *ctx = rmt_draw_create();
    double *secs = malloc(sizeof(double) * (plan->npoints ? plan->npoints : 1));
    if (!ctx || !secs) {
        rmt_draw_destroy(ctx);
        free(secs);
        return RMT_ERR(RMT_ERUNTIME, "out of memory");
    }
    double spent = 0, ref_s = 0, ref_fl = 0;
    uint32_t timed = 0, shared = 0;
    rmt_status s = RMT_OK;
    for (uint32_t i = 0; i < plan->npoints; i++) secs[i] = NAN;
    for (uint32_t i = begin; i < end && !s; i++) {
        const rmt_point *pt = &plan->points[i];
        if (pt->ranks_per_draw > 1 || pt->draws == 0) continue;
        for (uint32_t j = begin; j < i; j++)
            if (isfinite(secs[j]) && !strcmp(plan->params_json[j], plan->params_json[i])) {
                secs[i] = secs[j];
                shared++;
                break;
            }
        /* not a draw that would overrun the budget even at 50 GFLOP/s */
        if (isfinite(secs[i]) || spent >= budget || rmt_ensemble_flops(&pt->ens) / 50e9 > budget - spent) continue;
        if ((s = time_point(ctx, pt, cpu, &secs[i], &spent))) break;
        timed++;
        double fl = rmt_ensemble_flops(&pt->ens);
        if (fl > ref_fl) {
            ref_fl = fl;
            ref_s = secs[i];
        }
    }
    /* grid points and nothing timed: this machine's rate from a probe */
    uint32_t grids = 0;
    for (uint32_t i = begin; i < end; i++) grids += plan->points[i].ranks_per_draw > 1;
    int probed = 0;
    char probe_json[128];
    snprintf(probe_json, sizeof probe_json, "{\"name\": \"probe\", \"draws\": 50, \"ensemble\": {\"type\": \"wigner\", \"n\": %d}}",
             PROBE_N);
    rmt_plan *probe = NULL;
    if (!s && grids && ref_fl == 0 && rmt_config_parse(probe_json, strlen(probe_json), "probe", &probe) == RMT_OK) {
        const rmt_point *pt = &probe->points[0];
        if (rmt_ensemble_flops(&pt->ens) / 50e9 <= budget - spent && !(s = time_point(ctx, pt, cpu, &ref_s, &spent))) {
            ref_fl = rmt_ensemble_flops(&pt->ens);
            probed = 1;
        }
    }
    rmt_plan_destroy(probe);
    rmt_err_clear();
    rmt_draw_destroy(ctx);
    if (s) {
        free(secs);
        return s;
    }
    /* seconds per draw, on one rank, of the points not timed; a grid
     * point's core-seconds per draw are that over its grid's efficiency */
    uint32_t scaled = 0, unmeasured = 0;
    double eff_lo = INFINITY, eff_hi = 0;
    for (uint32_t i = begin; i < end; i++) {
        const rmt_point *pt = &plan->points[i];
        double fl = rmt_ensemble_flops(&pt->ens);
        if (pt->ranks_per_draw > 1) {
            double eff = rmt_grid_efficiency(pt->grid_solver, rmt_config_solved_dim(&pt->ens), pt->ranks_per_draw);
            if (!(eff > 0)) {
                eff = UNMEASURED_GRID_EFF;
                unmeasured++;
            }
            eff_lo = fmin(eff_lo, eff);
            eff_hi = fmax(eff_hi, eff);
            secs[i] = (ref_fl > 0 ? fl * ref_s / ref_fl : fl / 5e9) / eff;
        } else if (!isfinite(secs[i])) {
            secs[i] = ref_fl > 0 ? fl * ref_s / ref_fl : fl / 5e9;
            scaled++;
        }
    }
    double core_s, est = plan_seconds(plan, begin, end, secs, ranks, &core_s);
    free(secs);
    char how[96];
    if (cpu) snprintf(how, sizeof how, "one BLAS thread; their CPU time, so other load here does not count");
    else snprintf(how, sizeof how, "%d BLAS threads; wall time: keep the machine otherwise idle", threads);
    if (timed == 0 && probed)
        printf("timed    no point of the config (it has no one-rank point), Wigner n = %d draws instead, here in %.3g s "
               "(one rank, %s)", PROBE_N, spent, how);
    else
        printf("timed    %u point%s here in %.3g s (one rank, %s); %u more take the timing of a point with the same "
               "ensemble, %u scaled by flops",
               timed, timed == 1 ? "" : "s", spent, how, shared, scaled);
    if (grids) {
        char rate[96];
        if (probed) snprintf(rate, sizeof rate, "from Wigner n = %d draws timed here", PROBE_N);
        else snprintf(rate, sizeof rate, "%s", ref_fl > 0 ? "from the timed points" : "at 5 GFLOP/s per core");
        printf(", %u on process grids scaled by flops %s and by their grid's efficiency (%.2g", grids, rate, eff_lo);
        if (eff_hi > eff_lo) printf(" to %.2g", eff_hi);
        printf("%s)", unmeasured ? "; 0.5 where none is measured" : "");
    }
    printf("\n");
    printf("estimate %.3g s of draws on %d rank%s (%.3g core-seconds), plus start-up and writing; with every "
           "core busy draws may take ~20 %% longer\n",
           est, ranks, ranks == 1 ? "" : "s", core_s);
    return RMT_OK;
}

static int cmd_check(const args *a)
{
    rmt_plan *plan = NULL;
    rmt_status s = check_env(1);
    if (!s) s = rmt_config_load(a->config, &plan);
    if (s) return finish(s);
    int ranks = a->ranks > 0 ? a->ranks : 1;
    /* the ranks on rank 0's node share its memory with the results */
    const char *tpn = getenv("SLURM_NTASKS_PER_NODE");
    int on_node = a->ranks_per_node > 0 ? a->ranks_per_node : tpn && atoi(tpn) > 0 ? atoi(tpn) : ranks;
    if (on_node > ranks) on_node = ranks;
    char why[160];
    double budget = mem_budget(a, on_node, why, sizeof why);
    const char *out = a->output ? a->output : plan->output_path;
    s = budget_left(budget, why);
    if (s) {
        rmt_plan_destroy(plan);
        return finish(s);
    }
    s = rmt_config_check_memory(plan, ranks, budget, why);
    if (a->slice_k > plan->npoints) {
        s = RMT_ERR(RMT_EUSAGE, "--points %u/%u: the sweep has only %u point%s: K can be at most %u (a job array of "
                           "--array=0-%u)", a->slice_i, a->slice_k, plan->npoints, plan->npoints == 1 ? "" : "s",
                           plan->npoints, plan->npoints - 1);
        rmt_plan_destroy(plan);
        return finish(s);
    }
    uint32_t begin, end;
    rmt_plan_slice(plan, a->slice_i, a->slice_k, &begin, &end);
    if (!s) s = check_results_memory(plan, begin, end, on_node, budget, why);
    print_plan(plan, begin, end, out, budget, why, ranks, on_node);
    print_statistics(plan, begin, end);
    uint32_t big;
    char keep[32];
    rmt_format_bytes(rmt_results_bytes(plan, begin, end, &big), keep, sizeof keep);
    printf("results  rank 0 keeps up to %s (every draw's figures%s)\n", keep,
           big == UINT32_MAX ? "" : "; the spectra that spacings or output.eigenvalues need, and copies while a "
                                    "checkpoint unfolds or writes them");
    if (a->slice_k > 1)
        printf("slice    %u/%u: points %u to %u of %u (the totals and the estimate are this slice's)\n", a->slice_i,
               a->slice_k, begin, end - 1, plan->npoints);
    if (!s) idle_ranks_note(stdout, "", plan, begin, end, ranks);
    if (!s) sparse_p_note(stdout, "", plan, begin, end);
    if (!s) duplicate_points_note(stdout, "", plan, begin, end);
    if (!s && (not_an_input(out, a->config, "config") || check_output(out, 1, a->output ? NULL : a->config, NULL))) {
        /* the plan is sound; the output would be refused as things stand */
        printf("note: run would refuse this output now: %s\n", rmt_err_message());
        rmt_err_clear();
    } else if (!s && !a->force && check_output(out, 0, a->output ? NULL : a->config, plan->config_json)) {
        /* it exists: run needs --force, or --resume (which check does not try) */
        printf("note: run without --force or --resume would refuse this output: %s\n", rmt_err_message());
        rmt_err_clear();
    }
    if (!s && a->time_budget > 0) {
        fflush(stdout);
        s = time_plan(plan, begin, end, a->time_budget, ranks);
    }
    rmt_plan_destroy(plan);
    return finish(s);
}

static int cmd_analyze(const args *a, int argc, char **argv)
{
    /* one process does the work: under a launcher the other ranks stand aside */
    const char *r = getenv("OMPI_COMM_WORLD_RANK");
    if (!r) r = getenv("PMI_RANK");
    if (r && atoi(r) != 0) return 0;
    rmt_h5out_quiet();
    rmt_solve_init_threads(); /* BLAS threads as in run: fitted unfoldings agree to the last bit */
    rmt_local_set_threads(rmt_local_usable_cores()); /* pool unfolding: the same results on any number */
    rmt_status s = check_env(0);
    if (!s) s = not_an_input(a->output, a->config, "input");
    if (!s) s = not_an_input(a->output, a->analyze_config, "config");
    if (!s) s = check_output(a->output, a->force, NULL, NULL);
    if (!s) stop_cleanly("analyze", a->output, 0);
    if (s) return finish(s);
    char *cmdline = join_argv(argc, argv);
    rmt_analyze_opts o = {a->config, a->dataset, a->analyze_config, a->output, a->force,
                          {1, cmdline ? cmdline : "", "external"}};
    s = rmt_analyze_run(&o);
    if (!s) printf("analyzed %s into %s\n", a->config, a->output);
    free(cmdline);
    return finish(s);
}

/* Whether the file at out can be resumed by this run: the same config (by
 * hash) and the same slice of the points (slice_k <= 1: all of them);
 * *complete says whether it is finished, *more whether this config asks
 * for more draws than it was run for. */
static rmt_status check_resumable(const rmt_plan *plan, uint32_t slice_i, uint32_t slice_k, const char *out,
                                  int *complete, int *more)
{
    rmt_h5_state st;
    RMT_TRY(rmt_h5in_state(out, &st));
    char where[256], said[300] = "";
    int more_draws = 0, same = !strcmp(st.sha256, plan->sha256);
    int settings_only = !same && rmt_config_same_results(st.config_json, plan->config_json);
    if (!same && !settings_only && rmt_config_same_but_draws(st.config_json, plan->config_json)) {
        /* more draws: every draw is a function of (seed, point, draw), so
         * the file's draws are the first ones of this config's; fewer would
         * drop some, which a resume cannot */
        rmt_plan *old = NULL;
        rmt_status s = rmt_config_parse(st.config_json, strlen(st.config_json), out, &old);
        for (uint32_t i = 0; !s && i < plan->npoints; i++) {
            if (i >= old->npoints) {
                s = RMT_ERR(RMT_EUSAGE, "%s: holds %u points, this config %u", out, old->npoints, plan->npoints);
            } else if (plan->points[i].draws < old->points[i].draws) {
                s = RMT_ERR(RMT_EUSAGE, "%s: point %u was run for %u draws and %s asks for %u: --resume adds draws "
                            "but cannot drop any (use another -o, or --force to start over)", out, i,
                            old->points[i].draws, plan->config_path, plan->points[i].draws);
            } else if (plan->points[i].draws > old->points[i].draws) {
                more_draws = 1;
            }
        }
        rmt_plan_destroy(old);
        if (s) {
            free(st.config_json);
            return s;
        }
    } else if (settings_only) {
        /* where and how often to write: the results are the same */
        if (rmt_config_difference(st.config_json, plan->config_json, where, sizeof where) && where[0])
            snprintf(said, sizeof said, " (at %s)", where);
        if (!st.complete)
            fprintf(stderr, "rmtmc: %s was written with other output settings%s; it continues with %s's\n", out, said,
                    plan->config_path);
    } else if (!same) {
        /* name where they differ in what decides the results (draws alone
         * would have been resumed: what else differs) */
        if (rmt_config_results_difference(st.config_json, plan->config_json, where, sizeof where, 1) && where[0])
            snprintf(said, sizeof said, "; they differ at %s", where);
        free(st.config_json);
        return RMT_ERR(RMT_EUSAGE,
                       "%s: written by a different config (config_sha256 %.12s..., %s has %.12s...%s); "
                       "use another -o, or --force to start over",
                       out, st.sha256, plan->config_path, plan->sha256, said);
    }
    free(st.config_json);
    char want[32] = "";
    if (slice_k > 1) snprintf(want, sizeof want, "%u/%u", slice_i, slice_k);
    if (strcmp(st.slice, want)) {
        char have[64];
        if (st.slice[0]) snprintf(have, sizeof have, "slice %s of the points", st.slice);
        else snprintf(have, sizeof have, "all the points");
        return RMT_ERR(RMT_EUSAGE, "%s: holds %s, but this run asks for %s%s; resume it with the same --points, or "
                       "use another -o", out, have, want[0] ? "slice " : "all the points", want);
    }
    *complete = st.complete && !more_draws;
    *more = more_draws;
    return RMT_OK;
}

/* Continue the run whose checkpoint is at out (check_resumable passed and
 * said whether it is complete): finished draws restored. A finished file
 * is left as it is. */
static rmt_status resume(rmt_results *res, const char *out, int complete, int more, int *nothing_to_do)
{
    if (complete) {
        printf("%s is already complete: nothing to resume\n", out);
        *nothing_to_do = 1;
        return RMT_OK;
    }
    RMT_TRY(rmt_h5in_restore(out, res));
    uint64_t journalled = 0;
    int overlap = 0;
    RMT_TRY(rmt_journal_replay(out, res->ckpt_id, res, &journalled, &res->journal_keep, &overlap));
    if (overlap)
        fprintf(stderr, "rmtmc: note: %s.journal holds draws its file already has (a damaged journal): it is used "
                "up to there, and the draws after it run again\n", out);
    /* said once the file is known to be resumable (a finished file may lack the spectra a resume needs) */
    if (more)
        fprintf(stderr, "rmtmc: %s: %s asks for more draws than the file was run for; the file's draws are kept "
                "and the new ones added\n", out, res->plan->config_path);
    char from[96] = "";
    if (journalled) snprintf(from, sizeof from, " (%llu of them from %s.journal)", (unsigned long long)journalled, out);
    fprintf(stderr, "rmtmc: resuming %s: %llu of %llu draws already done%s\n", out,
            (unsigned long long)res->done_draws, (unsigned long long)res->total_draws, from);
    return RMT_OK;
}

/* Restore points [begin, end) of every part (the whole sweep: 0, npoints)
 * into new results *res, journals included. */
static rmt_status merge_batch(const rmt_plan *plan, const char **parts, int nparts, uint32_t begin, uint32_t end,
                              rmt_results **res)
{
    rmt_status s = rmt_results_create_batch(plan, begin, end, res);
    char first[sizeof (*res)->created_utc] = ""; /* the earliest part's start: when the experiment began */
    for (int i = 0; !s && i < nparts; i++) {
        s = rmt_h5in_restore(parts[i], *res);
        if (!s && (!first[0] || strcmp((*res)->created_utc, first) < 0)) strcpy(first, (*res)->created_utc);
        /* a part stopped at a light checkpoint: the rest of it is in its journal */
        uint64_t journalled = 0, keep = 0;
        int overlap = 0;
        if (!s) s = rmt_journal_replay(parts[i], (*res)->ckpt_id, *res, &journalled, &keep, &overlap);
        if (!s && overlap)
            s = RMT_ERR(RMT_EUSAGE, "%s.journal has draws that are already restored (overlapping parts, or a damaged "
                        "journal)", parts[i]);
    }
    if (!s && first[0]) strcpy((*res)->created_utc, first);
    return s;
}

/* rmtmc merge OUT.h5 PART.h5...: the parts of a job array (same config,
 * disjoint draws) into one file, as a single run would have written it.
 * The points are merged in batches whose results fit in the memory merge
 * may use (one batch, all points, unless the sweep's results are larger):
 * each batch reads its points from every part, then writes them. */
static int cmd_merge(int argc, char **argv)
{
    rmt_h5out_quiet();
    rmt_solve_init_threads(); /* BLAS threads as in run: fitted unfoldings agree to the last bit */
    rmt_local_set_threads(rmt_local_usable_cores()); /* pool unfolding: the same results on any number */
    const char *out = NULL;
    int force = 0, nparts = 0;
    args a;
    memset(&a, 0, sizeof a);
    const char **parts = calloc((size_t)argc, sizeof(char *));
    if (!parts) return finish(RMT_ERR(RMT_ERUNTIME, "out of memory"));
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--force")) {
            force = 1;
        } else if (!strcmp(argv[i], "--mem-per-rank") || !strncmp(argv[i], "--mem-per-rank=", 15)) {
            const char *v = argv[i][14] == '=' ? argv[i] + 15 : i + 1 < argc ? argv[++i] : NULL;
            if (!v || parse_size(v, &a.mem_per_rank)) {
                free(parts);
                return finish(RMT_ERR(RMT_EUSAGE, "--mem-per-rank needs a size such as 4G, found '%s'", v ? v : ""));
            }
        } else if (argv[i][0] == '-' && argv[i][1]) {
            free(parts);
            return finish(RMT_ERR(RMT_EUSAGE, "merge: unknown option '%s'; see rmtmc merge --help", argv[i]));
        } else if (!out) out = argv[i];
        else parts[nparts++] = argv[i];
    }
    rmt_status s = check_env(0);
    rmt_plan *plan = NULL;
    rmt_results *res = NULL;
    rmt_h5_writer *w = NULL;
    rmt_h5_state st = {0, "", NULL, ""};
    char *cmdline = join_argv(argc, argv);
    uint32_t *cut = NULL, nbatch = 0;
    int lockfd = -1;
    char why[160] = ""; /* where merge's memory comes from */
    if (!s && (!out || nparts == 0)) s = RMT_ERR(RMT_EUSAGE, "merge: usage: rmtmc merge OUT.h5 PART.h5...");
    if (!s) s = check_output(out, force, NULL, NULL);
    if (!s) lockfd = lock_output(out, &s); /* as a run holds it: no run writes OUT meanwhile */
    if (!s) stop_cleanly("merge", out, lockfd >= 0);
    for (int i = 0; !s && i < nparts; i++) {
        for (int j = 0; j < i; j++)
            if (!strcmp(parts[i], parts[j])) s = RMT_ERR(RMT_EUSAGE, "merge: %s is given twice", parts[i]);
        if (!s && (!strcmp(parts[i], out) || same_file(parts[i], out)))
            s = RMT_ERR(RMT_EUSAGE, "merge: %s is both a part and the output", out);
        struct stat sb;
        if (!s && stat(parts[i], &sb) != 0)
            s = RMT_ERR(RMT_EUSAGE, "merge: %s: %s (a slice that never wrote its file? run it with its --points, "
                        "or leave it out: the merged file is then incomplete)", parts[i], strerror(errno));
        else if (!s && S_ISREG(sb.st_mode) && sb.st_size == 0)
            s = RMT_ERR(RMT_EUSAGE, "merge: %s: is empty (a slice stopped before its first checkpoint? run it "
                        "again with its --points)", parts[i]);
        if (!s) s = rmt_h5in_state(parts[i], &st);
        /* the parts carry their config: rebuild the plan from the first */
        if (!s && !plan) s = rmt_config_parse(st.config_json, strlen(st.config_json), parts[i], &plan);
        if (!s && strcmp(st.sha256, plan->sha256) && !rmt_config_same_results(st.config_json, plan->config_json)) {
            char where[256] = "";
            rmt_config_results_difference(plan->config_json, st.config_json, where, sizeof where, 0);
            s = RMT_ERR(RMT_EUSAGE, "merge: %s was written by a different config than %s%s%s", parts[i], parts[0],
                        where[0] ? "; they differ at " : "", where);
        }
        free(st.config_json);
        st.config_json = NULL;
    }
    if (!s) {
        /* batches of points whose results fit in the memory merge may use,
         * less what it takes anyway and the summary of every point */
        char one[32];
        double budget = mem_budget(&a, 1, why, sizeof why) - rmt_h5out_summary_bytes(plan);
        cut = malloc(sizeof(uint32_t) * ((size_t)plan->npoints + 2));
        if (!cut) s = RMT_ERR(RMT_ERUNTIME, "out of memory");
        /* a batch's bytes as the sum of its points' (each with its own
         * copies while written or unfolded: an upper bound, in O(points)) */
        double sum = 0;
        for (uint32_t i = 0, b = 0; !s && i <= plan->npoints; i++) {
            uint32_t big;
            double alone = i < plan->npoints ? rmt_results_bytes(plan, i, i + 1, &big) : 0;
            if (i == plan->npoints || (i > b && sum + alone > budget)) {
                cut[nbatch++] = b;
                b = i;
                sum = 0;
            }
            sum += alone;
            if (i < plan->npoints && alone > budget) {
                rmt_format_bytes(alone, one, sizeof one);
                fprintf(stderr, "rmtmc: note: point %u alone takes about %s to merge, more than merge may use "
                        "(%s); merging it on its own\n", i, one, why);
            }
        }
        cut[nbatch] = plan->npoints;
    }
    /* a merge of some parts only is incomplete, and keeps the spectra a
     * resume needs: with several batches, count the draws first */
    uint64_t done = 0, total = 0;
    for (uint32_t k = 0; !s && nbatch > 1 && k < nbatch; k++) {
        s = merge_batch(plan, parts, nparts, cut[k], cut[k + 1], &res);
        if (!s) {
            done += res->done_draws;
            total += res->total_draws;
        }
        rmt_results_destroy(res);
        res = NULL;
    }
    if (!s && nbatch > 1) {
        printf("merging in %u batches of points, to stay within %s\n", nbatch, why);
        fflush(stdout);
    }
    int complete = 0;
    for (uint32_t k = 0; !s && k < nbatch; k++) {
        rmt_results_destroy(res);
        res = NULL;
        s = merge_batch(plan, parts, nparts, cut[k], cut[k + 1], &res);
        if (!s && nbatch == 1) {
            done = res->done_draws;
            total = res->total_draws;
        }
        complete = done == total;
        if (!s) s = rmt_results_finalize(res);
        /* OUT.h5.tmp once the parts are read (one batch) or counted (several) */
        if (!s && !w) s = rmt_h5out_begin(out, plan, &w);
        if (!s) s = rmt_h5out_points(w, res, cut[k], cut[k + 1], complete);
    }
    if (!s) {
        /* the merged file is a new file: no part's journal extends it */
        res->ckpt_id = 0;
        rmt_h5_meta meta = {0, cmdline ? cmdline : "", "merged"};
        s = rmt_h5out_end(w, res, &meta, complete);
        w = NULL;
        if (!s)
            printf("merged %d part%s into %s: %llu of %llu draws%s\n", nparts, nparts == 1 ? "" : "s", out,
                   (unsigned long long)done, (unsigned long long)total,
                   complete ? " (complete)" : " (incomplete: parts are missing or unfinished)");
    }
    rmt_h5out_abandon(w);
    unlock_output(out, lockfd);
    rmt_results_destroy(res);
    rmt_plan_destroy(plan);
    free(cut);
    free(parts);
    free(cmdline);
    return finish(s);
}

/* A run started without a launcher uses one core (one rank, one BLAS
 * thread): say so once when the machine has more, with what uses them. */
static void one_core_hint(int size)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (size != 1 || launched_by_launcher || cores < 2 || getenv("RMT_BLAS_THREADS")) return;
    fprintf(stderr, "rmtmc: one process on a machine with %ld cores: `mpiexec -n %ld rmtmc run ...` uses them all\n",
            cores, cores);
}

static int cmd_run(const args *a, int argc, char **argv)
{
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm node;
    int on_node = 1;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
    MPI_Comm_size(node, &on_node);
    MPI_Comm_free(&node);
    rmt_solve_init_threads();
    rmt_h5out_quiet();

    rmt_plan *plan = NULL;
    rmt_results *res = NULL;
    char *cmdline = NULL;
    const char *out = NULL;
    rmt_status s = RMT_OK;
    int nothing_to_do = 0, lockfd = -1;
    if (rank == 0) {
        s = check_env(1);
        if (!s) s = rmt_config_load(a->config, &plan);
        if (!s && a->slice_k > plan->npoints)
            s = RMT_ERR(RMT_EUSAGE, "--points %u/%u: the sweep has only %u point%s: K can be at most %u (a job array of "
                           "--array=0-%u)", a->slice_i, a->slice_k, plan->npoints, plan->npoints == 1 ? "" : "s",
                           plan->npoints, plan->npoints - 1);
        if (!s) {
            out = a->output ? a->output : plan->output_path;
            char why[160];
            double budget = mem_budget(a, on_node, why, sizeof why);
            s = budget_left(budget, why);
            if (!s) s = rmt_config_check_memory(plan, size, budget, why);
            if (!s) {
                uint32_t begin, end;
                rmt_plan_slice(plan, a->slice_i, a->slice_k, &begin, &end);
                s = check_results_memory(plan, begin, end, on_node, budget, why);
            }
        }
        struct stat sb;
        int resuming = a->resume && !s && stat(out, &sb) == 0;
        if (!s) s = not_an_input(out, a->config, "config");
        if (!s) s = check_output(out, a->force || resuming, a->output ? NULL : a->config, plan->config_json);
        int complete = 0, more = 0;
        /* a file this run cannot resume is the problem to name, before its room */
        if (!s && resuming) s = check_resumable(plan, a->slice_i, a->slice_k, out, &complete, &more);
        if (!s) s = check_space(out, plan, a->slice_i, a->slice_k, resuming);
        if (!s) lockfd = lock_output(out, &s);
        if (!s) s = rmt_results_create(plan, a->slice_i, a->slice_k, &res);
        if (!s && resuming) s = resume(res, out, complete, more, &nothing_to_do);
        else if (!s && a->resume) fprintf(stderr, "rmtmc: no checkpoint at %s: starting the run\n", out);
        if (!s && !(cmdline = join_argv(argc, argv))) s = RMT_ERR(RMT_ERUNTIME, "out of memory");
        if (!s && !nothing_to_do && a->progress != RMT_PROGRESS_NONE) {
            one_core_hint(size);
            idle_ranks_note(stderr, "rmtmc: ", plan, res->p_begin, res->p_end, size);
            sparse_p_note(stderr, "rmtmc: ", plan, res->p_begin, res->p_end);
            duplicate_points_note(stderr, "rmtmc: ", plan, res->p_begin, res->p_end);
        }
    }
    /* every rank learns whether to go on before any collective work */
    int code = nothing_to_do ? -1 : (int)s;
    MPI_Bcast(&code, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (code != 0) {
        if (rank == 0) unlock_output(out, lockfd);
        int rc = code < 0 ? 0 : rank == 0 ? finish(s) : code;
        rmt_results_destroy(res);
        rmt_plan_destroy(plan);
        return rc;
    }
    uint32_t np = rank == 0 ? plan->npoints : 0;
    MPI_Bcast(&np, 1, MPI_UINT32_T, 0, MPI_COMM_WORLD);
    if (rank != 0) {
        plan = rmt_plan_create_shared(np);
        if (!plan) {
            fprintf(stderr, "rmtmc: out of memory\n");
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }
    /* points are plain structs: they travel as bytes, in chunks below INT_MAX */
    size_t bytes = sizeof(rmt_point) * np;
    for (size_t off = 0; off < bytes; off += (size_t)1 << 30) {
        size_t chunk = bytes - off < ((size_t)1 << 30) ? bytes - off : ((size_t)1 << 30);
        MPI_Bcast((char *)plan->points + off, (int)chunk, MPI_BYTE, 0, MPI_COMM_WORLD);
    }
    rmt_farm_opts opts;
    memset(&opts, 0, sizeof opts);
    if (rank == 0) {
        opts.output_path = out;
        opts.meta.mpi_ranks = size;
        opts.meta.command_line = cmdline;
        char solver[128] = "dsyevr";
        rmt_solver *probe = rmt_solve_create(-1);
        if (probe) rmt_solve_describe(probe, solver, sizeof solver);
        /* and the process grids' solver, when some points use grids */
        int grids = 0;
        for (uint32_t i = 0; i < plan->npoints; i++) grids |= plan->points[i].ranks_per_draw > 1;
        if (grids) {
            /* every grid solver the points use, in the order met */
            size_t len = strlen(solver);
            snprintf(solver + len, sizeof solver - len, "; on process grids");
            const char *seen[4] = {0};
            for (uint32_t i = 0; i < plan->npoints; i++) {
                if (plan->points[i].ranks_per_draw <= 1) continue;
                const char *nm = rmt_grid_solver_name(plan->points[i].grid_solver);
                int k = 0;
                while (k < 4 && seen[k] && strcmp(seen[k], nm)) k++;
                if (k == 4 || seen[k]) continue;
                seen[k] = nm;
                len = strlen(solver);
                snprintf(solver + len, sizeof solver - len, "%s %s", k ? "," : "", nm);
            }
        }
        opts.meta.solver = solver;
        opts.progress = a->progress;
        if (opts.progress == RMT_PROGRESS_AUTO) opts.progress = isatty(2) ? RMT_PROGRESS_BAR : RMT_PROGRESS_LOG;
        opts.checkpoint_seconds = plan->checkpoint_seconds;
        opts.checkpoint_draws = plan->checkpoint_draws;
        opts.max_failures = plan->max_failures;
        s = rmt_farm_run(plan, res, &opts);
        rmt_solve_destroy(probe);
        if (!s) {
            print_summary(res, out);
            rmt_results_print_local(res, stdout, stderr, out);
        }
    } else {
        s = rmt_farm_run(plan, NULL, NULL);
    }
    int rc = rank == 0 ? finish(s) : (int)s;
    if (rank == 0) unlock_output(out, lockfd);
    rmt_results_destroy(res);
    if (!rmt_farm_draw_abandoned()) rmt_plan_destroy(plan); /* else still read by that draw */
    free(cmdline);
    return rc;
}

int rmt_cli_main(int argc, char **argv)
{
    /* --help anywhere (rmtmc run --help) is a question, not a run: the
     * command's own page (rmtmc help run too), else the whole help */
    int asks_help = argc >= 2 && !strcmp(argv[1], "help");
    for (int i = 1; i < argc; i++) asks_help |= !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h");
    if (asks_help) {
        const char *name = argc >= 2 && !strcmp(argv[1], "help") ? (argc >= 3 ? argv[2] : "") : argv[1];
        int cmd = -1;
        for (int c = 0; c < 4; c++)
            if (!strcmp(name, cmd_names[c])) cmd = c;
        if (cmd < 0 && name[0] && name[0] != '-') {
            fprintf(stderr, "rmtmc: help: unknown command '%s' (run, check, merge, analyze); see rmtmc --help\n", name);
            return 2;
        }
        print_help(cmd);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "--version")) {
        printf("rmtmc %s (process grids: ScaLAPACK%s)\n", RMT_VERSION, rmt_grid_have_elpa() ? ", ELPA" : "");
        return 0;
    }
    rmt_h5out_start(); /* before MPI_Init: h5out.c says why */
    if (argc >= 2 && !strcmp(argv[1], "merge")) return cmd_merge(argc, argv);
    args a;
    rmt_status s = parse_args(argc, argv, &a);
    if (s) {
        /* before MPI_Init the rank is only known from the launcher: let rank 0 speak */
        const char *r = getenv("OMPI_COMM_WORLD_RANK");
        if (!r) r = getenv("PMI_RANK");
        if (!r) r = getenv("SLURM_PROCID");
        if (r && atoi(r) != 0) return (int)s;
        return finish(s);
    }
    if (!strcmp(a.cmd, "check")) return cmd_check(&a);
    if (!strcmp(a.cmd, "analyze")) return cmd_analyze(&a, argc, argv);
    single_node_transport();
    /* a signal during start-up (MPI_Init takes ~0.1 s) stops the run at its first chance */
    rmt_farm_install_signals();
    /* rank 0 runs its own draws in a second thread, which makes no MPI call */
    int provided = MPI_THREAD_SINGLE;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
    rmt_farm_threads_allowed(provided >= MPI_THREAD_FUNNELED);
    int rc = cmd_run(&a, argc, argv);
    MPI_Finalize();
    if (rmt_farm_draw_abandoned()) {
        /* the checkpoint is on disk; do not wait for the draw rank 0 left running */
        fflush(NULL);
        _exit(rc);
    }
    return rc;
}
