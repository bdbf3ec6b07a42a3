/* cowbench: measures, on the Linux host it runs on, what mmusim's kernel and
 * memory cost parameters stand for. One run, JSON on standard output.
 *
 *   clock       the core's effective clock: a chain of dependent register adds
 *               (one cycle each on x86-64 cores); the fastest of 7 runs
 *   l2          the L2 cache's size (sysconf, else sysfs; 0 if unknown): past
 *               the pages whose struct pages fit in it, fork costs more a page
 *   memcpy_4k   one 4 KiB memcpy, streaming through buffers far larger than
 *   memset_4k   the caches (as the kernel's copy_page / clear_page see them)
 *   fork        fork() in the parent, with 0 and SIZE bytes touched (written)
 *   faults      on a private anonymous mapping of N pages (4 KiB pages:
 *               MADV_NOHUGEPAGE), time per page and minor faults counted by
 *               Linux (getrusage ru_minflt deltas) of
 *                 demand_zero  the first write to each page
 *                 cow_copy     the child writes each page after fork (timed
 *                              and counted in the child, sent over a pipe)
 *                 cow_reuse    the parent writes each page after the child
 *                              has exited and been reaped
 *                 read_zero    the first read of each page (zero page mapped)
 *                 cow_zero     a write to each page after that read
 *               and a baseline run of the same phases that does everything
 *               but the touches (its fault counts are the benchmark's own).
 *   thp         transparent huge pages: whether the host has them at all
 *               (/sys/kernel/mm/transparent_hugepage/enabled, a 2 MiB PMD),
 *               and, on a 2 MiB-aligned MADV_HUGEPAGE mapping of H huge pages,
 *                 demand       the first write to each 2 MiB block
 *                 fork         fork() with those H huge pages mapped
 *                 first_write  the child writes one byte of each huge page
 *                              while the parent still maps it
 *               each with its minor faults (less a baseline without the
 *               touches), and how many huge pages smaps showed after the
 *               demand faults and, in the child, after its writes: Linux 5.8
 *               and later split the child's mapping and copy 4 KiB (none left
 *               huge), earlier kernels copy the whole 2 MiB (all still huge).
 *
 * Usage: cowbench [--pages N] [--fork-sizes 0,16M,64M,256M] [--fork-reps R]
 *                 [--huge-pages H]
 * Build: gcc -O2 -o cowbench cowbench.c
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static long minflt(void) { return minflt_of(RUSAGE_SELF); }
#define MAX_SIZES 16

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static unsigned long parse_size(const char *s) {
  char *end;
  unsigned long v = strtoul(s, &end, 0);
  switch (*end) {
    case 'K': case 'k': v <<= 10; break;
    case 'M': case 'm': v <<= 20; break;
    case 'G': case 'g': v <<= 30; break;
    case '\0': break;
    default: fprintf(stderr, "cowbench: bad size '%s'\n", s); exit(2);
  }
  return v;
}

static char *map_pages(unsigned long pages) {
  if (pages == 0) return NULL;
  char *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  if (madvise(p, pages * PAGE, MADV_NOHUGEPAGE) != 0) die("madvise(MADV_NOHUGEPAGE)");
  return p;
}

/* One store per page; `touch` = 0 runs the loop without the stores. */
static void write_pages(volatile char *p, unsigned long pages, char value, int touch) {
  if (!touch) return;
  for (unsigned long i = 0; i < pages; ++i) p[i * PAGE + (i * 24) % PAGE] = value;
}

static unsigned long read_pages(volatile char *p, unsigned long pages, int touch) {
  unsigned long sum = 0;
  if (!touch) return 0;
  for (unsigned long i = 0; i < pages; ++i) sum += p[i * PAGE + (i * 24) % PAGE];
  return sum;
}

/* ------------------------------------------------------------ clock */

static double measure_clock_mhz(void) {
#if defined(__x86_64__) || defined(__i386__)
  double best = 0;
  for (int rep = 0; rep < 7; ++rep) {
    unsigned long x = 0, one = 1;
    const long iters = 2000000;
    double t0 = now_ns();
    for (long i = 0; i < iters; ++i) {
      /* 50 dependent register adds: 50 cycles, the loop overhead runs beside
       them (add-immediate chains are folded by the renamer of recent Intel
       cores, so the addend is a register) */
      __asm__ volatile(
          "add %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\t"
          "add %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\t"
          "add %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\t"
          "add %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\t"
          "add %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\t"
          "add %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\t"
          "add %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\t"
          "add %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\t"
          "add %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\t"
          "add %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\tadd %1,%0\n\t"
          : "+r"(x)
          : "r"(one));
    }
    double t1 = now_ns();
    double mhz = iters * 50.0 / (t1 - t0) * 1000.0;
    if (mhz > best) best = mhz; /* the fastest run: least disturbed */
  }
  return best;
#else
  return 0; /* unknown: the caller assumes a clock */
#endif
}

/* ------------------------------------------------------------ L2 cache */

static long l2_cache_bytes(void) {
  long n = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (n > 0) return n;
  for (int i = 0; i < 8; ++i) { /* sysfs: the level-2 data or unified cache of CPU 0 */
    char path[96], buf[32];
    int level = 0;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/level", i);
    FILE *f = fopen(path, "r");
    if (!f) break;
    if (fscanf(f, "%d", &level) != 1) level = 0;
    fclose(f);
    if (level != 2) continue;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/type", i);
    if (!(f = fopen(path, "r"))) continue;
    int instruction = fgets(buf, sizeof buf, f) && !strncmp(buf, "Instruction", 11);
    fclose(f);
    if (instruction) continue;
    snprintf(path, sizeof path, "/sys/devices/system/cpu/cpu0/cache/index%d/size", i);
    if (!(f = fopen(path, "r"))) continue;
    char unit = 0;
    long kb = 0;
    int got = fscanf(f, "%ld%c", &kb, &unit);
    fclose(f);
    if (got >= 1) return unit == 'M' ? kb << 20 : kb << 10;
  }
  return 0;
}

/* ------------------------------------------------------------ memcpy / memset */

static void measure_copy(double *memcpy_ns, double *memset_ns) {
  const unsigned long pages = (64UL << 20) / PAGE; /* 64 MiB each: out of every cache */
  char *src = map_pages(pages), *dst = map_pages(pages);
  memset(src, 1, pages * PAGE);
  memset(dst, 2, pages * PAGE);
  double cp[5], st[5];
  for (int rep = 0; rep < 5; ++rep) {
    double t0 = now_ns();
    for (unsigned long i = 0; i < pages; ++i) memcpy(dst + i * PAGE, src + i * PAGE, PAGE);
    double t1 = now_ns();
    for (unsigned long i = 0; i < pages; ++i) memset(dst + i * PAGE, (int)rep, PAGE);
    double t2 = now_ns();
    __asm__ volatile("" ::"r"(dst) : "memory");
    cp[rep] = (t1 - t0) / pages;
    st[rep] = (t2 - t1) / pages;
  }
  *memcpy_ns = median(cp, 5);
  *memset_ns = median(st, 5);
  munmap(src, pages * PAGE);
  munmap(dst, pages * PAGE);
}

/* ------------------------------------------------------------ fork */

static double measure_fork(unsigned long bytes, int reps) {
  unsigned long pages = bytes / PAGE;
  char *p = map_pages(pages);
  write_pages(p, pages, 1, 1);
  double t[64];
  if (reps > 64) reps = 64;
  for (int r = 0; r < reps; ++r) {
    double t0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) _exit(0);
    double t1 = now_ns();
    if (waitpid(pid, NULL, 0) != pid) die("waitpid");
    t[r] = t1 - t0;
  }
  if (p) munmap(p, pages * PAGE);
  return median(t, reps);
}

/* ------------------------------------------------------------ faults */

struct phases {
  double demand_zero_ns, cow_copy_ns, cow_reuse_ns, read_zero_ns, cow_zero_ns; /* per page */
  long demand_zero_flt, cow_copy_flt, cow_reuse_flt, read_zero_flt, cow_zero_flt;
};

struct child_report {
  double ns;
  long flt;
};

static void run_phases(unsigned long pages, int touch, struct phases *out) {
  /* demand-zero: first write */
  char *p = map_pages(pages);
  long f0 = minflt();
  double t0 = now_ns();
  write_pages(p, pages, 1, touch);
  double t1 = now_ns();
  long f1 = minflt();
  out->demand_zero_ns = (t1 - t0) / pages;
  out->demand_zero_flt = f1 - f0;

  /* COW copy: the child writes every page while the parent still maps it */
  int fd[2];
  if (pipe(fd) != 0) die("pipe");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    struct child_report r;
    long c0 = minflt();
    double s0 = now_ns();
    write_pages(p, pages, 2, touch);
    double s1 = now_ns();
    long c1 = minflt();
    r.ns = s1 - s0;
    r.flt = c1 - c0;
    if (write(fd[1], &r, sizeof r) != (ssize_t)sizeof r) _exit(1);
    _exit(0);
  }
  struct child_report r;
  if (read(fd[0], &r, sizeof r) != (ssize_t)sizeof r) die("read from child");
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) die("child");
  close(fd[0]);
  close(fd[1]);
  out->cow_copy_ns = r.ns / pages;
  out->cow_copy_flt = r.flt;

  /* COW reuse: the child has exited and been reaped; the parent writes */
  f0 = minflt();
  t0 = now_ns();
  write_pages(p, pages, 3, touch);
  t1 = now_ns();
  f1 = minflt();
  out->cow_reuse_ns = (t1 - t0) / pages;
  out->cow_reuse_flt = f1 - f0;
  munmap(p, pages * PAGE);

  /* first read (zero page), then a write to each page */
  p = map_pages(pages);
  f0 = minflt();
  t0 = now_ns();
  unsigned long sum = read_pages(p, pages, touch);
  t1 = now_ns();
  f1 = minflt();
  __asm__ volatile("" ::"r"(sum));
  out->read_zero_ns = (t1 - t0) / pages;
  out->read_zero_flt = f1 - f0;
  f0 = minflt();
  t0 = now_ns();
  write_pages(p, pages, 4, touch);
  t1 = now_ns();
  f1 = minflt();
  out->cow_zero_ns = (t1 - t0) / pages;
  out->cow_zero_flt = f1 - f0;
  munmap(p, pages * PAGE);
}

/* ------------------------------------------------------------ THP */

#define HUGE (2UL << 20)

struct thp {
  char enabled[16];       /* the bracketed mode of .../enabled, or "absent" */
  unsigned long pmd_size; /* .../hpage_pmd_size, 0 if absent */
  double demand_ns, fork_ns, first_write_ns; /* per huge page (fork: the whole call) */
  long demand_flt, first_write_flt;
  long huge_after_demand, child_huge_after_write; /* huge pages smaps counted */
};

static void thp_mode(struct thp *t) {
  snprintf(t->enabled, sizeof t->enabled, "absent");
  t->pmd_size = 0;
  char line[256];
  FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");
  if (!f) return;
  if (fgets(line, sizeof line, f)) {
    char *open = strchr(line, '['), *close = open ? strchr(open, ']') : NULL;
    if (open && close) snprintf(t->enabled, sizeof t->enabled, "%.*s", (int)(close - open - 1), open + 1);
  }
  fclose(f);
  f = fopen("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", "r");
  if (f) {
    if (fscanf(f, "%lu", &t->pmd_size) != 1) t->pmd_size = 0;
    fclose(f);
  }
}

/* A private anonymous mapping of `huge` 2 MiB blocks at a 2 MiB-aligned
 * address (the slack around it unmapped, so it is one VMA of its own), with
 * MADV_HUGEPAGE: what a `mmap ... huge` line asks of mmusim. */
static char *map_huge(unsigned long huge) {
  const unsigned long bytes = huge * HUGE;
  char *raw = mmap(NULL, bytes + HUGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) die("mmap");
  char *p = (char *)(((uintptr_t)raw + HUGE - 1) & ~(uintptr_t)(HUGE - 1));
  if (p > raw) munmap(raw, (unsigned long)(p - raw));
  if (p + bytes < raw + bytes + HUGE) munmap(p + bytes, (unsigned long)(raw + bytes + HUGE - (p + bytes)));
  if (madvise(p, bytes, MADV_HUGEPAGE) != 0) die("madvise(MADV_HUGEPAGE)");
  return p;
}

/* The huge pages /proc/self/smaps shows mapped in the VMA that starts at p. */
static long huge_pages_at(const char *p) {
  FILE *f = fopen("/proc/self/smaps", "r");
  if (!f) return -1;
  char line[512];
  int in = 0;
  long kb = -1;
  while (fgets(line, sizeof line, f)) {
    unsigned long start, end;
    if (sscanf(line, "%lx-%lx ", &start, &end) == 2) {
      in = start == (uintptr_t)p;
      continue;
    }
    if (in && sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) break;
  }
  fclose(f);
  return kb < 0 ? -1 : kb / (long)(HUGE >> 10);
}

/* One byte per huge page, at a different 4 KiB page of each. */
static void write_huge(volatile char *p, unsigned long huge, char value, int touch) {
  if (!touch) return;
  for (unsigned long i = 0; i < huge; ++i) p[i * HUGE + (i % 512) * PAGE + 8] = value;
}

static void run_thp(unsigned long huge, int touch, int fork_reps, struct thp *t) {
  char *p = map_huge(huge);
  long f0 = minflt();
  double t0 = now_ns();
  write_huge(p, huge, 1, touch);
  double t1 = now_ns();
  t->demand_flt = minflt() - f0;
  t->demand_ns = (t1 - t0) / huge;
  t->huge_after_demand = huge_pages_at(p);

  double ft[64];
  if (fork_reps > 64) fork_reps = 64;
  for (int r = 0; r < fork_reps; ++r) {
    double s0 = now_ns();
    pid_t pid = fork();
    if (pid < 0) die("fork");
    if (pid == 0) _exit(0);
    ft[r] = now_ns() - s0;
    if (waitpid(pid, NULL, 0) != pid) die("waitpid");
  }
  t->fork_ns = median(ft, fork_reps);

  int fd[2];
  if (pipe(fd) != 0) die("pipe");
  pid_t pid = fork();
  if (pid < 0) die("fork");
  if (pid == 0) {
    long r[3];
    long c0 = minflt();
    double s0 = now_ns();
    write_huge(p, huge, 2, touch);
    double s1 = now_ns();
    r[0] = minflt() - c0;
    r[1] = (long)((s1 - s0) / huge);
    r[2] = huge_pages_at(p);
    if (write(fd[1], r, sizeof r) != (ssize_t)sizeof r) _exit(1);
    _exit(0);
  }
  long r[3];
  if (read(fd[0], r, sizeof r) != (ssize_t)sizeof r) die("read from child");
  int status;
  if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) die("child");
  close(fd[0]);
  close(fd[1]);
  t->first_write_flt = r[0];
  t->first_write_ns = (double)r[1];
  t->child_huge_after_write = r[2];
  munmap(p, huge * HUGE);
}

static void json_str(const char *key, const char *value, const char *end) {
  printf("  \"%s\": \"", key);
  for (const char *c = value; *c; ++c) {
    if (*c == '"' || *c == '\\') putchar('\\');
    if ((unsigned char)*c >= 0x20) putchar(*c);
  }
  printf("\"%s\n", end);
}

static void cpu_model(char *buf, size_t n) {
  snprintf(buf, n, "unknown");
  FILE *f = fopen("/proc/cpuinfo", "r");
  if (!f) return;
  char line[512];
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "model name", 10) == 0) {
      char *c = strchr(line, ':');
      if (c) {
        c += 1 + (c[1] == ' ');
        c[strcspn(c, "\n")] = 0;
        snprintf(buf, n, "%s", c);
      }
      break;
    }
  }
  fclose(f);
}

int main(int argc, char **argv) {
  unsigned long pages = 16384; /* 64 MiB */
  unsigned long sizes[MAX_SIZES] = {0, 16UL << 20, 64UL << 20, 256UL << 20};
  int nsizes = 4, fork_reps = 7;
  unsigned long huge = 32; /* 64 MiB in huge pages */
  for (int i = 1; i < argc; ++i) {
    if (!strcmp(argv[i], "--pages") && i + 1 < argc) {
      pages = strtoul(argv[++i], NULL, 0);
    } else if (!strcmp(argv[i], "--fork-reps") && i + 1 < argc) {
      fork_reps = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--huge-pages") && i + 1 < argc) {
      huge = strtoul(argv[++i], NULL, 0);
    } else if (!strcmp(argv[i], "--fork-sizes") && i + 1 < argc) {
      char *list = argv[++i];
      nsizes = 0;
      for (char *tok = strtok(list, ","); tok && nsizes < MAX_SIZES; tok = strtok(NULL, ","))
        sizes[nsizes++] = parse_size(tok);
    } else {
      fprintf(stderr, "usage: cowbench [--pages N] [--fork-sizes 0,16M,64M,256M] [--fork-reps R] [--huge-pages H]\n");
      return 2;
    }
  }
  if (pages == 0 || fork_reps < 1 || huge == 0) {
    fprintf(stderr, "cowbench: --pages, --fork-reps and --huge-pages must be positive\n");
    return 2;
  }
  if (sysconf(_SC_PAGESIZE) != (long)PAGE) {
    fprintf(stderr, "cowbench: the page size is %ld, not 4096\n", sysconf(_SC_PAGESIZE));
    return 1;
  }

  double mhz = measure_clock_mhz();
  double memcpy_ns, memset_ns;
  measure_copy(&memcpy_ns, &memset_ns);

  double fork_ns[MAX_SIZES];
  for (int i = 0; i < nsizes; ++i) fork_ns[i] = measure_fork(sizes[i], fork_reps);

  struct phases base, meas;
  run_phases(pages, 0, &base); /* warms up the code paths too */
  run_phases(pages, 1, &meas);

  /* Huge pages only where the host has 2 MiB PMDs and THP not "never";
   * "always" and "madvise" both honour MADV_HUGEPAGE. */
  struct thp thp, thp_base;
  thp_mode(&thp);
  const int thp_usable = thp.pmd_size == HUGE && strcmp(thp.enabled, "never") && strcmp(thp.enabled, "absent");
  if (thp_usable) {
    run_thp(huge, 0, fork_reps, &thp_base);
    run_thp(huge, 1, fork_reps, &thp);
  }

  struct utsname u;
  uname(&u);
  char model[256];
  cpu_model(model, sizeof model);

  printf("{\n");
  json_str("host", u.nodename, ",");
  json_str("kernel", u.release, ",");
  json_str("machine", u.machine, ",");
  json_str("cpu", model, ",");
  printf("  \"page_size\": %lu,\n", PAGE);
  printf("  \"clock_mhz\": %.1f,\n", mhz);
  printf("  \"l2_cache_bytes\": %ld,\n", l2_cache_bytes());
  printf("  \"memcpy_4k_ns\": %.1f,\n", memcpy_ns);
  printf("  \"memset_4k_ns\": %.1f,\n", memset_ns);
  printf("  \"fork\": [");
  for (int i = 0; i < nsizes; ++i)
    printf("%s{\"bytes\": %lu, \"pages\": %lu, \"ns\": %.0f}", i ? ", " : "", sizes[i], sizes[i] / PAGE,
           fork_ns[i]);
  printf("],\n");
  printf("  \"fault_pages\": %lu,\n", pages);
  printf("  \"faults\": {\n");
  const char *names[] = {"demand_zero", "cow_copy", "cow_reuse", "read_zero", "cow_zero"};
  double ns[] = {meas.demand_zero_ns, meas.cow_copy_ns, meas.cow_reuse_ns, meas.read_zero_ns, meas.cow_zero_ns};
  long flt[] = {meas.demand_zero_flt, meas.cow_copy_flt, meas.cow_reuse_flt, meas.read_zero_flt, meas.cow_zero_flt};
  long bflt[] = {base.demand_zero_flt, base.cow_copy_flt, base.cow_reuse_flt, base.read_zero_flt, base.cow_zero_flt};
  double bns[] = {base.demand_zero_ns, base.cow_copy_ns, base.cow_reuse_ns, base.read_zero_ns, base.cow_zero_ns};
  for (int i = 0; i < 5; ++i)
    printf("    \"%s\": {\"ns_per_page\": %.1f, \"minflt\": %ld, \"baseline_minflt\": %ld, "
           "\"baseline_ns_per_page\": %.2f}%s\n",
           names[i], ns[i], flt[i], bflt[i], bns[i], i < 4 ? "," : "");
  printf("  },\n");
  printf("  \"thp\": {\"enabled\": \"%s\", \"pmd_size\": %lu", thp.enabled, thp.pmd_size);
  if (thp_usable)
    printf(",\n          \"huge_pages\": %lu, \"demand_ns\": %.0f, \"demand_minflt\": %ld, "
           "\"baseline_demand_minflt\": %ld, \"huge_after_demand\": %ld,\n"
           "          \"fork_ns\": %.0f, \"first_write_ns\": %.0f, \"first_write_minflt\": %ld, "
           "\"baseline_first_write_minflt\": %ld, \"child_huge_after_write\": %ld",
           huge, thp.demand_ns, thp.demand_flt, thp_base.demand_flt, thp.huge_after_demand, thp.fork_ns,
           thp.first_write_ns, thp.first_write_flt, thp_base.first_write_flt, thp.child_huge_after_write);
  printf("}\n}\n");
  return 0;
}
