// SPDX-License-Identifier: Apache-2.0
// driver_source.cc — see driver_source.h. The fork server's C is below; everything a program
// does is the prelude's (ifz_do_step / ifz_do_op), exactly as in a reproducer.
#include "harness/real/driver_source.h"

#include "harness/emit/c_prelude.h"

namespace ifz::harness::real {

namespace {

const char* const kServer = R"IFZC(
/* ======== the fork server (interpfuzz's real-CPython driver) ======== */
/* The program's scripts as step tables (interpfuzz's wire format), in this process before the
 * fork and so in each child. */
static ifz_step *ifzd_steps[IFZ_MAX_THREADS];
static int ifzd_nsteps[IFZ_MAX_THREADS];

static void ifzd_run_script(ifz_thread *self, int k) {
  for (int i = 0; i < ifzd_nsteps[k]; ++i) ifz_do_step(self, &ifzd_steps[k][i]);
}
#define IFZD_SCRIPT(k) \
  static void ifzd_script_##k(ifz_thread *self) { ifzd_run_script(self, k); }
IFZD_SCRIPT(0) IFZD_SCRIPT(1) IFZD_SCRIPT(2) IFZD_SCRIPT(3)
IFZD_SCRIPT(4) IFZD_SCRIPT(5) IFZD_SCRIPT(6) IFZD_SCRIPT(7)
static ifz_script_fn const ifzd_scripts[IFZ_MAX_THREADS] = {
    ifzd_script_0, ifzd_script_1, ifzd_script_2, ifzd_script_3,
    ifzd_script_4, ifzd_script_5, ifzd_script_6, ifzd_script_7};

/* ---- the request stream (fd 0) and the replies (fd 1): raw fds, no stdio, so that a forked
 * child never inherits unwritten protocol bytes ------------------------------------------- */
static char ifzd_in[1 << 16];
static size_t ifzd_in_len, ifzd_in_pos;

static int ifzd_getc(void) {
  if (ifzd_in_pos == ifzd_in_len) {
    ssize_t n;
    do n = read(0, ifzd_in, sizeof ifzd_in); while (n < 0 && errno == EINTR);
    if (n <= 0) return -1;
    ifzd_in_len = (size_t)n;
    ifzd_in_pos = 0;
  }
  return (unsigned char)ifzd_in[ifzd_in_pos++];
}

/* The line's length; -1 at the end of the stream, -2 for an overlong or cut line. */
static int ifzd_read_line(char *buf, size_t cap) {
  size_t n = 0;
  int ch;
  while ((ch = ifzd_getc()) != '\n') {
    if (ch < 0) return n == 0 ? -1 : -2;
    if (n + 1 >= cap) return -2;
    buf[n++] = (char)ch;
  }
  buf[n] = 0;
  return (int)n;
}

static int ifzd_read_bytes(char *buf, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    int ch = ifzd_getc();
    if (ch < 0) return 0;
    buf[i] = (char)ch;
  }
  return 1;
}

static void ifzd_write_all(const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) _exit(3);  /* interpfuzz is gone */
    p += w;
    n -= (size_t)w;
  }
}

static void ifzd_error(const char *msg) {
  char line[512];
  int n = snprintf(line, sizeof line, "error %s\n", msg);
  if (n > (int)sizeof line - 1) n = (int)sizeof line - 1;
  ifzd_write_all(line, (size_t)n);
}

/* ---- parsing a program (the grammar of interpfuzz's harness/real/wire_format.h) --------- */
/* The integers of [s, e), separated by single spaces: their count, or -1 on anything else. */
static int ifzd_ints(const char *s, const char *e, long *v, int max) {
  int k = 0;
  while (s < e) {
    if (*s == ' ') { ++s; continue; }
    if (k == max || !(*s == '-' || (*s >= '0' && *s <= '9'))) return -1;
    char *q;
    errno = 0;
    long x = strtol(s, &q, 10);
    if (q == s || errno != 0 || q > e || (q < e && *q != ' ')) return -1;
    v[k++] = x;
    s = q;
  }
  return k;
}

typedef struct { const char *p, *end; int line; } ifzd_cursor;

static int ifzd_next_line(ifzd_cursor *c, const char **s, const char **e) {
  if (c->p >= c->end) return 0;
  const char *nl = memchr(c->p, '\n', (size_t)(c->end - c->p));
  if (!nl) return 0;
  *s = c->p;
  *e = nl;
  c->p = nl + 1;
  ++c->line;
  return 1;
}

static int ifzd_is(const char *s, const char *e, const char *word) {
  size_t n = strlen(word);
  return (size_t)(e - s) == n && memcmp(s, word, n) == 0;
}

static int ifzd_in_range(long v, long lo, long hi) { return v >= lo && v <= hi; }

static void ifzd_clear_program(void) {
  for (int k = 0; k < IFZ_MAX_THREADS; ++k) {
    free(ifzd_steps[k]);
    ifzd_steps[k] = NULL;
    ifzd_nsteps[k] = 0;
  }
  memset(ifz_signals, 0, sizeof ifz_signals);
}

/* 1, or 0 with `err` set (and no program). */
static int ifzd_parse(const char *text, size_t len, char *err, size_t cap) {
  ifzd_cursor c = {text, text + len, 0};
  const char *s, *e;
  long v[80];
  ifzd_clear_program();
#define IFZD_FAIL(msg) do { snprintf(err, cap, "driver program, line %d: %s", c.line, msg); \
                            ifzd_clear_program(); return 0; } while (0)
  if (!ifzd_next_line(&c, &s, &e) || !ifzd_is(s, e, "ifz-driver-program 1"))
    IFZD_FAIL("expected 'ifz-driver-program 1'");
  if (!ifzd_next_line(&c, &s, &e) || e - s < 8 || memcmp(s, "signals ", 8) != 0)
    IFZD_FAIL("expected 'signals <n> <sig>...'");
  int n = ifzd_ints(s + 8, e, v, 80);
  if (n < 1 || v[0] != n - 1) IFZD_FAIL("expected 'signals <n>' and n signal numbers");
  for (int i = 1; i < n; ++i) {
    if (!ifzd_in_range(v[i], 1, 16)) IFZD_FAIL("signal out of range 1..16");
    ifz_signals[v[i]] = 1;
  }
  int scripts = 0;
  for (;;) {
    if (!ifzd_next_line(&c, &s, &e)) IFZD_FAIL("expected 'script' or 'end'");
    if (ifzd_is(s, e, "end")) break;
    if (e - s < 7 || memcmp(s, "script ", 7) != 0 || ifzd_ints(s + 7, e, v, 2) != 2)
      IFZD_FAIL("expected 'script <k> <steps>' or 'end'");
    if (v[0] != scripts || scripts >= IFZ_MAX_THREADS)
      IFZD_FAIL("scripts must be numbered 0, 1, ... below 8");
    if (!ifzd_in_range(v[1], 0, 4096)) IFZD_FAIL("bad step count");
    int steps = (int)v[1];
    ifzd_steps[scripts] = calloc((size_t)steps + 1, sizeof(ifz_step));
    ifzd_nsteps[scripts] = steps;
    for (int i = 0; i < steps; ++i) {
      if (!ifzd_next_line(&c, &s, &e) || ifzd_ints(s, e, v, 8) != 8)
        IFZD_FAIL("expected a step: 8 numbers");
      if (!ifzd_in_range(v[0], IFZ_STEP_WAIT, IFZ_STEP_PARK)) IFZD_FAIL("unknown step kind");
      if (!ifzd_in_range(v[1], 0, 1 << 20)) IFZD_FAIL("turn out of range");
      if (v[0] == IFZ_STEP_OP && !ifzd_in_range(v[2], IFZ_OP_INIT, IFZ_OP_LAST))
        IFZD_FAIL("unknown op code");
      if (!ifzd_in_range(v[2], 0, 255) || !ifzd_in_range(v[3], -1, IFZ_MAX_INTERP - 1) ||
          !ifzd_in_range(v[4], -1, IFZ_MAX_THREADS - 1) || !ifzd_in_range(v[5], 0, 64) ||
          !ifzd_in_range(v[6], 0, 7) || !ifzd_in_range(v[7], 0, 3))
        IFZD_FAIL("op argument out of range");
      ifz_step *st = &ifzd_steps[scripts][i];
      st->kind = (int)v[0];
      st->turn = (int)v[1];
      st->op = (ifz_op){(int)v[2], (int)v[3], (int)v[4], (int)v[5], (int)v[6], (int)v[7]};
    }
    ++scripts;
  }
  if (scripts == 0) IFZD_FAIL("a program has at least script 0");
  if (c.p != c.end) IFZD_FAIL("text after 'end'");
#undef IFZD_FAIL
  return 1;
}

/* ---- running: one child per run, concurrently, with a watchdog ------------------------- */
typedef struct {
  pid_t pid;
  int pidfd, out, err, out_eof, err_eof, ended, timed_out, status;
  char *buf[2];
  size_t len[2], cap[2];
} ifzd_run;

#define IFZD_MAX_RUNS 100
#define IFZD_MAX_OUTPUT (8u << 20)  /* per stream: a runaway program's output is cut there */

/* The child: as a freshly exec'd reproducer would start (default SIGPIPE, no interpreter). */
static void ifzd_child(int out_w, int err_w) {
  setpgid(0, 0);
  struct rlimit no_core = {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  int null = open("/dev/null", O_RDONLY);
  if (null >= 0) dup2(null, 0);
  dup2(out_w, 1);
  dup2(err_w, 2);
  closefrom(3);
  signal(SIGPIPE, SIG_DFL);
  for (int k = 0; k < IFZ_MAX_THREADS; ++k) ifz_scripts[k] = ifzd_scripts[k];
  pthread_atfork(NULL, NULL, ifz_atfork_child);
  ifz_install_crash_flush();
  ifz_self = &ifz_threads[0];
  ifz_scripts[0](&ifz_threads[0]);
  /* the main script ended: the process ends (threads still running end with it) */
  fflush(stdout);
  exit(0);
}

static void ifzd_drain(ifzd_run *r, int which) {
  int fd = which == 0 ? r->out : r->err;
  int *eof = which == 0 ? &r->out_eof : &r->err_eof;
  if (*eof) return;
  char chunk[65536];
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;  /* EAGAIN */
    if (n == 0) { *eof = 1; return; }
    size_t keep = (size_t)n;
    if (r->len[which] + keep > IFZD_MAX_OUTPUT) keep = IFZD_MAX_OUTPUT - r->len[which];
    if (r->len[which] + keep > r->cap[which]) {
      size_t cap = r->cap[which] ? r->cap[which] : 4096;
      while (cap < r->len[which] + keep) cap *= 2;
      char *grown = realloc(r->buf[which], cap);
      if (!grown) _exit(4);
      r->buf[which] = grown;
      r->cap[which] = cap;
    }
    memcpy(r->buf[which] + r->len[which], chunk, keep);
    r->len[which] += keep;
  }
}

static long long ifzd_now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void ifzd_serve(int runs, int timeout_ms) {
  ifzd_run r[IFZD_MAX_RUNS];
  memset(r, 0, sizeof r);
  for (int i = 0; i < runs; ++i) {
    int out[2], err[2];
    r[i].pid = -1;
    r[i].pidfd = -1;
    if (pipe2(out, O_CLOEXEC) != 0) { r[i].ended = 1; r[i].status = 127 << 8; continue; }
    if (pipe2(err, O_CLOEXEC) != 0) { close(out[0]); close(out[1]); r[i].ended = 1; r[i].status = 127 << 8; continue; }
    pid_t pid = fork();
    if (pid == 0) ifzd_child(out[1], err[1]);
    close(out[1]);
    close(err[1]);
    r[i].out = out[0];
    r[i].err = err[0];
    fcntl(r[i].out, F_SETFL, O_NONBLOCK);
    fcntl(r[i].err, F_SETFL, O_NONBLOCK);
    if (pid < 0) { r[i].ended = 1; r[i].status = 127 << 8; continue; }
    setpgid(pid, pid);  /* also here: no race with a kill of the group below */
    r[i].pid = pid;
#ifdef SYS_pidfd_open
    r[i].pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
  }
  const long long deadline = ifzd_now_ms() + timeout_ms;
  int alive = 0;
  for (int i = 0; i < runs; ++i) alive += !r[i].ended;
  while (alive > 0) {
    struct pollfd fds[3 * IFZD_MAX_RUNS];
    int nfds = 0, blind = 0;
    for (int i = 0; i < runs; ++i) {
      if (r[i].ended) continue;
      if (!r[i].out_eof) fds[nfds++] = (struct pollfd){r[i].out, POLLIN, 0};
      if (!r[i].err_eof) fds[nfds++] = (struct pollfd){r[i].err, POLLIN, 0};
      if (r[i].pidfd >= 0) fds[nfds++] = (struct pollfd){r[i].pidfd, POLLIN, 0};
      else blind = 1;  /* no pidfd (old kernel): look at the child every 2 ms */
    }
    long long left = deadline - ifzd_now_ms();
    int wait_ms = left < 0 ? 0 : left > 1000 ? 1000 : (int)left;
    if (blind && wait_ms > 2) wait_ms = 2;
    poll(fds, (nfds_t)nfds, wait_ms);
    const int late = ifzd_now_ms() >= deadline;
    for (int i = 0; i < runs; ++i) {
      if (r[i].ended) continue;
      ifzd_drain(&r[i], 0);
      ifzd_drain(&r[i], 1);
      int st = 0;
      pid_t w = waitpid(r[i].pid, &st, WNOHANG);
      if (w == r[i].pid || w < 0) {
        r[i].status = w < 0 ? (127 << 8) : st;
      } else if (late) {
        r[i].timed_out = 1;
        kill(-r[i].pid, SIGKILL);
        waitpid(r[i].pid, &st, 0);
      } else {
        continue;
      }
      /* Whatever the group left behind (a hung fork child) goes with it; its output so far
       * is kept. */
      kill(-r[i].pid, SIGKILL);
      ifzd_drain(&r[i], 0);
      ifzd_drain(&r[i], 1);
      close(r[i].out);
      close(r[i].err);
      if (r[i].pidfd >= 0) close(r[i].pidfd);
      r[i].ended = 1;
      --alive;
    }
  }
  for (int i = 0; i < runs; ++i) {
    char head[128];
    int n = snprintf(head, sizeof head, "result %d %d %zu %zu\n", r[i].timed_out, r[i].status,
                     r[i].len[0], r[i].len[1]);
    ifzd_write_all(head, (size_t)n);
    ifzd_write_all(r[i].buf[0] ? r[i].buf[0] : "", r[i].len[0]);
    ifzd_write_all(r[i].buf[1] ? r[i].buf[1] : "", r[i].len[1]);
    free(r[i].buf[0]);
    free(r[i].buf[1]);
  }
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  char line[256];
  for (;;) {
    int n = ifzd_read_line(line, sizeof line);
    if (n == -1) return 0;  /* the end of the requests: interpfuzz is done */
    long v[3];
    if (n < 4 || memcmp(line, "run ", 4) != 0 || ifzd_ints(line + 4, line + n, v, 3) != 3 ||
        !ifzd_in_range(v[0], 1, IFZD_MAX_RUNS) || !ifzd_in_range(v[1], 1, 24 * 3600 * 1000) ||
        !ifzd_in_range(v[2], 1, 1 << 20)) {
      ifzd_error("bad request line (expected 'run <runs 1..100> <timeout_ms> <bytes>')");
      return 2;
    }
    char *text = malloc((size_t)v[2] + 1);
    if (!text || !ifzd_read_bytes(text, (size_t)v[2])) {
      ifzd_error("the request ended inside its program text");
      return 2;
    }
    text[v[2]] = 0;
    char err[256];
    int ok = ifzd_parse(text, (size_t)v[2], err, sizeof err);
    free(text);
    if (!ok) {
      ifzd_error(err);
      continue;
    }
    ifzd_serve((int)v[0], (int)v[1]);
  }
}
)IFZC";

}  // namespace

const std::string& driver_c_source() {
  static const std::string kText = std::string(emit::c_includes()) +
                                   "#include <poll.h>\n#include <sys/resource.h>\n\n" +
                                   "/* ======== the prelude every reproducer has ======== */" +
                                   emit::c_prelude() + kServer;
  return kText;
}

}  // namespace ifz::harness::real
