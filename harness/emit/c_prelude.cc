// SPDX-License-Identifier: Apache-2.0
// c_prelude.cc — see c_prelude.h. The C below is what a CPython developer reads first, so it
// explains itself; every function is `static` and marked unused-ok so that a program using
// only some of them still compiles with -Wall -Werror.
#include "harness/emit/c_prelude.h"

#include "harness/emit/script_steps.h"

namespace ifz::harness::emit {

namespace {

const char* const kPrelude = R"IFZC(
#define IFZ_FN static __attribute__((unused))

#if PY_VERSION_HEX >= 0x03090000
/* The per-interpreter add (internal/pycore_ceval.h; exported for _testinternalcapi), declared
 * here because its header needs Py_BUILD_CORE. */
PyAPI_FUNC(int) _PyEval_AddPendingCall(PyInterpreterState *interp, int (*func)(void *), void *arg
#if PY_VERSION_HEX >= 0x030C0000
                                       , int flags
#endif
                                       );
#endif
#if PY_VERSION_HEX >= 0x030D0000
/* Moved to internal/pycore_signal.h in 3.13, still exported. */
PyAPI_FUNC(int) _PyOS_IsMainThread(void);
#endif
#define IFZ_MAX_THREADS 8
#define IFZ_MAX_INTERP 16

/* ---- observables: "IFZ <fact>" lines on stdout, written with one write(2) each so that
 * lines of threads and of a fork child never mix ------------------------------------------ */
/* Observables of an op interpfuzz never saw return (another thread's finding ended the modelled
 * process inside it) are held back. State 1: the op runs; a crash now is a crash inside the op,
 * and what it printed so far comes out (ifz_crash_flush). State 2: the op returned and its
 * thread gives the GIL away for a grace period (ifz_grace); a crash now is the crash the model
 * saw inside the op, which never got to print what the op prints on return, so the held lines
 * die with the process. State 0 again, printed, when the grace period ends. One holder: the
 * model's process ended inside one op. */
static volatile sig_atomic_t ifz_hold_state;
static pthread_t ifz_hold_thread;
static char ifz_held[4096];
static size_t ifz_held_len;

/* While an os.fork()/subprocess.run() op is in progress, the process interpfuzz does not
 * follow reports nothing: Python code runs in both processes as os.fork() returns (its
 * eval-breaker check may run pending calls there), and only the followed one is the model's.
 * ifz_fork_drop: 0 none; 1 drop in the process ifz_fork_parent once it has forked (the child
 * is followed; a refused fork, "raised", is still reported); 2 drop in every other process
 * (the parent is followed). ifz_fork_done: set in the parent by a pthread_atfork handler. */
static volatile int ifz_fork_drop;
static volatile pid_t ifz_fork_parent;
static volatile int ifz_fork_done;

IFZ_FN void ifz_obs(const char *fmt, ...) {
  if (ifz_fork_drop == 1 && ifz_fork_done && getpid() == ifz_fork_parent) return;
  if (ifz_fork_drop == 2 && getpid() != ifz_fork_parent) return;
  char buf[256];
  va_list ap;
  int n = snprintf(buf, sizeof buf, "IFZ ");
  va_start(ap, fmt);
  n += vsnprintf(buf + n, sizeof buf - (size_t)n - 1, fmt, ap);
  va_end(ap);
  if (n > (int)sizeof buf - 2) n = (int)sizeof buf - 2;
  buf[n++] = '\n';
  if (ifz_hold_state != 0 && pthread_equal(pthread_self(), ifz_hold_thread) &&
      ifz_held_len + (size_t)n <= sizeof ifz_held) {
    memcpy(ifz_held + ifz_held_len, buf, (size_t)n);
    ifz_held_len += (size_t)n;
    return;
  }
  ssize_t w = write(1, buf, (size_t)n);
  (void)w;
}

IFZ_FN void ifz_hold_observables(void) {
  ifz_hold_thread = pthread_self();
  ifz_hold_state = 1;
}

/* SIGSEGV, SIGBUS, SIGABRT: async-signal-safe (write, signal, raise). */
static void ifz_crash_flush(int sig) {
  if (ifz_hold_state == 1) {
    ssize_t w = write(1, ifz_held, ifz_held_len);
    (void)w;
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

IFZ_FN void ifz_install_crash_flush(void) {
  signal(SIGSEGV, ifz_crash_flush);
  signal(SIGBUS, ifz_crash_flush);
  signal(SIGABRT, ifz_crash_flush);
}

IFZ_FN void ifz_flush_held(void) {
  if (ifz_hold_state == 0) return;
  ifz_hold_state = 0;
  ssize_t w = write(1, ifz_held, ifz_held_len);
  (void)w;
  ifz_held_len = 0;
}

/* The pending exception, as the observable "raised <type>", then cleared. */
IFZ_FN void ifz_raised(void) {
  PyObject *type, *value, *tb;
  PyErr_Fetch(&type, &value, &tb);
  ifz_obs("raised %s", type ? ((PyTypeObject *)type)->tp_name : "?");
  Py_XDECREF(type);
  Py_XDECREF(value);
  Py_XDECREF(tb);
}

/* ---- what each program thread holds (interpfuzz's ThreadCtx) ----------------------------- */
typedef struct ifz_thread {
  int is_c_thread;
  int kind;                                   /* IFZ_THREADING, IFZ_DAEMON, IFZ_RAW, IFZ_C */
  PyThreadState *ts;                          /* attached (GIL held, current) or NULL */
  PyThreadState *home;                        /* the thread state it started with */
  PyThreadState *saved;                       /* released by release_gil */
  PyThreadState *created;                     /* made by new_tstate */
  PyThreadState *gilstate;                    /* the innermost PyGILState_Ensure's, or NULL */
  PyGILState_STATE gs[16];
  PyThreadState *gs_ts[16];                   /* each ensure level's thread state */
  int gs_depth;
  PyThreadState *own[IFZ_MAX_INTERP];         /* its thread state per interpreter id */
  PyThreadState *prev[IFZ_MAX_INTERP];        /* where end_interp of that id returns */
  PyObject *pythread;                         /* threading.Thread object, for join */
  pthread_t cthread;                          /* C thread, for join */
  volatile int done;                          /* its script and cleanup ended */
  int fork_child_main;                        /* it forked and runs on in the child */
} ifz_thread;

enum { IFZ_THREADING, IFZ_DAEMON, IFZ_RAW, IFZ_C };
enum { IFZ_NOOP, IFZ_TOUCH, IFZ_REARM, IFZ_FAIL, IFZ_SLOW, IFZ_ADDS, IFZ_FOREVER };

static ifz_thread ifz_threads[IFZ_MAX_THREADS];
static __thread ifz_thread *ifz_self;         /* the context of the calling OS thread */
typedef void (*ifz_script_fn)(ifz_thread *self);
static ifz_script_fn ifz_scripts[IFZ_MAX_THREADS];

IFZ_FN void ifz_forget_tstates(ifz_thread *c) {
  c->ts = c->home = c->saved = c->created = c->gilstate = NULL;
  c->gs_depth = 0;
  memset(c->own, 0, sizeof c->own);
  memset(c->prev, 0, sizeof c->prev);
}

IFZ_FN long long ifz_interp_id(PyThreadState *ts) {
#if PY_VERSION_HEX >= 0x03090000
  return (long long)PyInterpreterState_GetID(PyThreadState_GetInterpreter(ts));
#else
  return (long long)PyInterpreterState_GetID(ts->interp);
#endif
}

/* Interpreters whose Py_NewInterpreter returned in this runtime lifetime (the main one from
 * Py_Initialize). An embedder holds an interpreter only once its creation returned it; one
 * still being created is already in the runtime's list (PyInterpreterState_New links it
 * before its GIL exists) but is no program's to use. interpfuzz's executor keeps the same
 * rule (Execution::published_), so neither side acts on a half-built interpreter. Ids beyond
 * IFZ_MAX_INTERP are not tracked (as the executor's slots). */
static volatile int ifz_published[IFZ_MAX_INTERP];

IFZ_FN PyInterpreterState *ifz_find_interp(long long id) {
  if (id >= 0 && id < IFZ_MAX_INTERP && !ifz_published[id]) return NULL;
  for (PyInterpreterState *i = PyInterpreterState_Head(); i; i = PyInterpreterState_Next(i)) {
    if ((long long)PyInterpreterState_GetID(i) == id) return i;
  }
  return NULL;
}

/* ---- the handshake: one global turn counter. Turn k belongs to one op boundary of one
 * thread (an op's start, or the return of an op during which other ops ran); a thread waits
 * for its turn with the GIL released, as interpfuzz's scheduler would have it waiting
 * outside the op, and passes the turn on when it is done with that boundary. -------------- */
static pthread_mutex_t ifz_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ifz_cv = PTHREAD_COND_INITIALIZER;
static int ifz_turn;

IFZ_FN int ifz_reached(int k) {
  pthread_mutex_lock(&ifz_mu);
  int r = ifz_turn >= k;
  pthread_mutex_unlock(&ifz_mu);
  return r;
}

/* A thread interpfuzz had waiting for the GIL while other threads ran their ops (see
 * ifz_pass_into_gil_wait): 1 = it passed its turn and waits for another thread to hold the
 * GIL, 2 = that thread holds it, 3 = the waiter is on its way into take_gil. */
static volatile int ifz_gil_waiter;

/* Polls `*flag` for `want` for at most 100 ms: a handshake that cannot hang the program when
 * the other side never comes (then the interleaving is CPython's, as without it). */
IFZ_FN int ifz_await_flag(volatile int *flag, int want) {
  for (int i = 0; i < 1000; ++i) {
    if (__atomic_load_n(flag, __ATOMIC_ACQUIRE) == want) return 1;
    usleep(100);
  }
  return 0;
}

/* The thread that passed its turn on its way into a blocking call (ifz_pass_blocking): the
 * next turn's owner lets it get there first, by polling its scheduler state in /proc until it
 * sleeps (at most 100 ms; a thread that does not block at all just runs on). */
static volatile int ifz_blocker_tid;

IFZ_FN void ifz_await_blocker(void) {
  int tid = __atomic_exchange_n(&ifz_blocker_tid, 0, __ATOMIC_ACQ_REL);
  if (tid == 0 || tid == (int)syscall(SYS_gettid)) return;
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
  for (int i = 0; i < 1000; ++i) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;                    /* it ended */
    char buf[512];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return;
    buf[n] = 0;
    const char *state = strrchr(buf, ')'); /* "tid (comm) S ..." */
    if (!state || state[1] != ' ' || state[2] != 'R') return;
    usleep(100);
  }
}

/* After this thread got its turn: the handshakes other threads asked for before an op runs. */
IFZ_FN void ifz_turn_taken(PyThreadState *ts) {
  ifz_await_blocker();
  if (ts && __atomic_load_n(&ifz_gil_waiter, __ATOMIC_ACQUIRE) == 1) {
    /* We hold the GIL: let the waiter block in take_gil before our op runs. The short sleep
     * (GIL held) covers its way from the flag into the condition wait. */
    __atomic_store_n(&ifz_gil_waiter, 2, __ATOMIC_RELEASE);
    if (ifz_await_flag(&ifz_gil_waiter, 3)) usleep(1000);
    __atomic_store_n(&ifz_gil_waiter, 0, __ATOMIC_RELEASE);
  }
}

IFZ_FN void ifz_wait(int k) {
  if (ifz_reached(k)) {
    ifz_await_blocker();
    return;
  }
  PyThreadState *ts = ifz_self->ts;
  if (ts) PyEval_SaveThread();
  pthread_mutex_lock(&ifz_mu);
  while (ifz_turn < k) pthread_cond_wait(&ifz_cv, &ifz_mu);
  pthread_mutex_unlock(&ifz_mu);
  /* During finalisation CPython may end this thread right here (PyThread_exit_thread). */
  if (ts) PyEval_RestoreThread(ts);
  ifz_turn_taken(ts);
}

/* Turn k, the GIL kept: interpfuzz's model had this thread holding the GIL between its ops
 * while other threads ran theirs (those needing this GIL then waited in take_gil, and so they
 * do here: this thread sits in a condition wait, not in the eval loop, so it never honours
 * their drop requests). Should no turn come for 1 s, the other threads needed the GIL where
 * the model said they did not: the thread then waits as ifz_wait does (an "IFZ note", not
 * compared), so that the handshake itself never hangs the program. */
IFZ_FN void ifz_wait_holding(int k) {
  PyThreadState *ts = ifz_self->ts;
  if (!ts) {
    ifz_wait(k);
    return;
  }
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += 1;
  pthread_mutex_lock(&ifz_mu);
  while (ifz_turn < k) {
    if (pthread_cond_timedwait(&ifz_cv, &ifz_mu, &until) == ETIMEDOUT) break;
  }
  int reached = ifz_turn >= k;
  pthread_mutex_unlock(&ifz_mu);
  if (!reached) {
    ifz_obs("note turn %d: no turn for 1 s with the GIL held; waiting with it released", k);
    ifz_wait(k);
    return;
  }
  ifz_turn_taken(ts);
}

IFZ_FN void ifz_pass(int k) {
  pthread_mutex_lock(&ifz_mu);
  if (ifz_turn == k) ifz_turn = k + 1;
  pthread_cond_broadcast(&ifz_cv);
  pthread_mutex_unlock(&ifz_mu);
}

/* The op that follows blocks (take_gil, a join, a syscall) while other threads run their ops,
 * as interpfuzz's model had it: pass the turn, and have the next turn's owner wait until this
 * thread sleeps in that call (ifz_await_blocker). */
IFZ_FN void ifz_pass_blocking(int k) {
  __atomic_store_n(&ifz_blocker_tid, (int)syscall(SYS_gettid), __ATOMIC_RELEASE);
  ifz_pass(k);
}

/* The op that follows needs the GIL, and interpfuzz ran other threads' ops while this thread
 * waited for it (in take_gil). Give the GIL up, pass the turn, and take the GIL again only
 * once the next thread holds it: this thread then waits inside take_gil (timed waits, drop
 * requests) while the other thread's ops run, as in the model. Where the model had this
 * thread wake (which step of a Py_FinalizeEx, say) stays CPython's. */
IFZ_FN void ifz_pass_into_gil_wait(int k) {
  PyThreadState *ts = ifz_self->ts;
  if (!ts) {
    ifz_pass(k);
    return;
  }
  PyEval_SaveThread();
  __atomic_store_n(&ifz_gil_waiter, 1, __ATOMIC_RELEASE);
  ifz_pass(k);
  ifz_await_flag(&ifz_gil_waiter, 2);
  __atomic_store_n(&ifz_gil_waiter, 3, __ATOMIC_RELEASE);
  PyEval_RestoreThread(ts);
}

/* interpfuzz's execution ended inside the op just made (another thread's finding ended the
 * modelled process, typically a thread waking in take_gil). Here the op returned: release the
 * GIL for 300 ms so that such a waiting thread gets it, where the model had it run. */
IFZ_FN void ifz_grace(void) {
  if (ifz_hold_state == 1) ifz_hold_state = 2;
  PyThreadState *ts = ifz_self->ts;
  if (ts) PyEval_SaveThread();
  usleep(300000);
  if (ts) PyEval_RestoreThread(ts);
  ifz_flush_held();
}

/* An op interpfuzz's execution never reached (its thread was ended, or the process was):
 * the thread waits here for ever, GIL released; the process ends without it. */
IFZ_FN void ifz_park(void) {
  if (ifz_self->ts) PyEval_SaveThread();
  ifz_self->ts = NULL;
  pthread_mutex_lock(&ifz_mu);
  for (;;) pthread_cond_wait(&ifz_cv, &ifz_mu);
}

/* A fork child has only the forking thread: the handshake's lock may have been held by a
 * thread that is gone. */
static void ifz_atfork_child(void) {
  pthread_mutex_init(&ifz_mu, NULL);
  pthread_cond_init(&ifz_cv, NULL);
}

IFZ_FN void ifz_exit_process(int status) {
  /* Another thread's op that interpfuzz never saw return is still running (state 1): the
   * process ends inside it, as in the model, so its held lines die with it. */
  if (ifz_hold_state == 1 && !pthread_equal(pthread_self(), ifz_hold_thread)) ifz_held_len = 0;
  ifz_flush_held();
  fflush(stdout);
  fflush(stderr);
  _exit(status);
}

/* Dies the way a child process died (exit status or signal). */
IFZ_FN void ifz_exit_like(int wait_status) {
  if (WIFEXITED(wait_status)) ifz_exit_process(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    int sig = WTERMSIG(wait_status);
    signal(sig, SIG_DFL);
    kill(getpid(), sig);
    for (;;) pause();
  }
  ifz_exit_process(125);
}

/* ---- lifecycle -------------------------------------------------------------------------- */
static int ifz_signals[17];                   /* signal numbers the program trips */

/* The interpreter of the calling thread's current thread state. */
IFZ_FN long long ifz_current_interp_id(void) {
#if PY_VERSION_HEX >= 0x03090000
  return (long long)PyInterpreterState_GetID(PyInterpreterState_Get());
#else
  return (long long)PyInterpreterState_GetID(PyThreadState_Get()->interp);
#endif
}

static PyObject *ifz_signal_handler(PyObject *self, PyObject *args) {
  (void)args;
  ifz_obs("signal_handled sig=%ld interp=%lld", PyLong_AsLong(self), ifz_current_interp_id());
  Py_RETURN_NONE;
}
static PyMethodDef ifz_signal_def = {"ifz_signal_handler", ifz_signal_handler, METH_VARARGS, NULL};

/* Python-level handlers so that a tripped signal is observable where CPython handles it
 * (the main thread of the main interpreter, P5). */
IFZ_FN void ifz_install_signal_handlers(void) {
  /* Only a program that trips a signal imports the signal module (and enum with it: half the
   * cost of a Py_Initialize). */
  int any = 0;
  for (int s = 1; s <= 16; ++s) any |= ifz_signals[s];
  if (!any) return;
  PyObject *mod = PyImport_ImportModule("signal");
  for (int s = 1; s <= 16 && mod; ++s) {
    if (!ifz_signals[s]) continue;
    PyObject *num = PyLong_FromLong(s);
    PyObject *h = PyCFunction_New(&ifz_signal_def, num);
    PyObject *r = PyObject_CallMethod(mod, "signal", "iO", s, h);
    if (!r) ifz_raised();
    Py_XDECREF(r);
    Py_XDECREF(h);
    Py_XDECREF(num);
  }
  Py_XDECREF(mod);
}

/* ---- the program's own locks and events (lock_acquire ... event_wait) -------------------
 * threading.Lock L0..L3 (_thread.allocate_lock, what threading.Lock is) and threading.Event
 * E0..E3, made by the first op that names them, in the main interpreter (the ops run only
 * there). One set per runtime lifetime: Py_FinalizeEx frees them with the interpreter (a thread
 * still waiting keeps its own reference), Py_Initialize starts a new set. */
static PyObject *ifz_user_sync[2][4];
#define IFZ_USER_TIMEOUT 0.5  /* seconds: long for a releaser that runs, short for a wait
                               * the program never ends (interpfuzz: a scheduling choice) */

IFZ_FN void ifz_user_sync_forget(void) { memset(ifz_user_sync, 0, sizeof ifz_user_sync); }

IFZ_FN PyObject *ifz_user_sync_get(int event, int i) {
  PyObject **slot = &ifz_user_sync[event][i & 3];
  if (*slot) return *slot;
  PyObject *mod = PyImport_ImportModule(event ? "threading" : "_thread");
  *slot = mod ? PyObject_CallMethod(mod, event ? "Event" : "allocate_lock", NULL) : NULL;
  Py_XDECREF(mod);
  return *slot;
}

/* obj.method() or obj.method(timeout=...); the observable of a timed call: what it returned. */
IFZ_FN void ifz_user_sync_call(int event, int variant, const char *method, const char *what) {
  int i = variant & 3, timed = (variant & 4) != 0;
  PyObject *o = ifz_user_sync_get(event, i);
  PyObject *r = NULL;
  if (o && timed) {
    PyObject *args = PyTuple_New(0);
    PyObject *kw = Py_BuildValue("{s:d}", "timeout", IFZ_USER_TIMEOUT);
    PyObject *m = PyObject_GetAttrString(o, method);
    r = m && args && kw ? PyObject_Call(m, args, kw) : NULL;
    Py_XDECREF(m);
    Py_XDECREF(kw);
    Py_XDECREF(args);
  } else if (o) {
    r = PyObject_CallMethod(o, method, NULL);
  }
  if (!r) {
    ifz_raised();
    return;
  }
  if (timed) ifz_obs("%s %c%d returned=%d", what, event ? 'E' : 'L', i, PyObject_IsTrue(r));
  Py_DECREF(r);
}

/* Py_Initialize (again after a finalize: a new runtime lifetime). Other threads' thread
 * states belong to the old lifetime; one released with release_gil is kept, the thread will
 * try to re-attach it (F6). */
IFZ_FN void ifz_init(ifz_thread *c) {
  for (int i = 0; i < IFZ_MAX_THREADS; ++i) {
    if (&ifz_threads[i] == c) continue;
    PyThreadState *saved = ifz_threads[i].saved;
    ifz_forget_tstates(&ifz_threads[i]);
    ifz_threads[i].saved = saved;
  }
  ifz_forget_tstates(c);
  ifz_user_sync_forget();  /* the last lifetime's objects went with its interpreter */
  /* No site import: .pth files of an install (pyenv, venvs) would import modules such as
   * threading, which changes what Py_EndInterpreter and Py_FinalizeEx run; and no Python
   * signal handlers besides the program's own. */
#if PY_VERSION_HEX >= 0x03080000
  PyConfig config;
  PyConfig_InitPythonConfig(&config);
  config.site_import = 0;
  config.install_signal_handlers = 0;
  PyStatus st = Py_InitializeFromConfig(&config);
  PyConfig_Clear(&config);
  if (PyStatus_Exception(st)) Py_ExitStatusException(st);
#else
  Py_NoSiteFlag = 1;
  Py_InitializeEx(0);
#endif
  c->ts = c->home = c->own[0] = PyThreadState_Get();
  for (int i = 0; i < IFZ_MAX_INTERP; ++i) ifz_published[i] = 0;
  ifz_published[0] = 1;
  ifz_obs("interp_created id=%lld", ifz_interp_id(c->ts));
  ifz_install_signal_handlers();
}

IFZ_FN void ifz_finalize(ifz_thread *c) {
  int rc = Py_FinalizeEx();
  (void)rc;               /* -1 only when flushing sys.stdout failed: not compared */
  ifz_obs("finalize_returned");
  ifz_forget_tstates(c);
}

/* ---- interpreters ----------------------------------------------------------------------- */
IFZ_FN void ifz_record_new_interp(ifz_thread *c, PyThreadState *before, PyThreadState *t) {
  if (!t) {               /* creation failed: CPython swapped the old thread state back */
    if (PyErr_Occurred()) ifz_raised();
    return;
  }
  long long id = ifz_interp_id(t);
  ifz_obs("interp_created id=%lld", id);
  if (id >= 0 && id < IFZ_MAX_INTERP) {
    ifz_published[id] = 1;
    c->own[id] = t;
    c->prev[id] = before;
  }
  c->ts = t;
}

/* Py_EndInterpreter of the current subinterpreter, then back to the thread state it was
 * created from (or, if that one is gone, any other of this thread). */
IFZ_FN void ifz_end_interp(ifz_thread *c) {
  PyThreadState *cur = c->ts;
  long long id = ifz_interp_id(cur);
  PyThreadState *back = c->prev[id];
  int back_ok = 0;
  for (int i = 0; i < IFZ_MAX_INTERP; ++i) back_ok |= i != id && back && c->own[i] == back;
  if (!back_ok) {
    back = NULL;
    for (int i = 0; i < IFZ_MAX_INTERP && !back; ++i) back = i != id ? c->own[i] : NULL;
  }
  c->own[id] = NULL;
  Py_EndInterpreter(cur);
  PyThreadState_Swap(back);
  c->ts = back;
}

IFZ_FN void ifz_swap(ifz_thread *c, int interp) {
  PyThreadState_Swap(c->own[interp]);
  c->ts = c->own[interp];
}

/* PyThreadState_New + PyEval_RestoreThread, from a thread with no thread state. */
IFZ_FN void ifz_new_tstate(ifz_thread *c, int interp) {
  PyInterpreterState *i = ifz_find_interp(interp);
  if (!i) { ifz_obs("note new_tstate: interpreter %d not found", interp); return; }
  c->created = PyThreadState_New(i);
  PyEval_RestoreThread(c->created);
  c->ts = c->created;
  if (interp < IFZ_MAX_INTERP) c->own[interp] = c->created;
}

IFZ_FN void ifz_delete_tstate(ifz_thread *c) {
  /* The current thread state: one new_tstate made, or a subinterpreter's from new_interp. */
  PyThreadState *t = c->ts;
  for (int i = 0; i < IFZ_MAX_INTERP; ++i) {
    if (c->own[i] == t) c->own[i] = NULL;
  }
  PyThreadState_Clear(t);
  PyThreadState_DeleteCurrent();
  if (c->created == t) c->created = NULL;
  c->ts = NULL;
}

/* ---- the GIL ---------------------------------------------------------------------------- */
IFZ_FN void ifz_release_gil(ifz_thread *c) {
  c->saved = PyEval_SaveThread();
  c->ts = NULL;
}

IFZ_FN void ifz_acquire_gil(ifz_thread *c) {
  PyThreadState *t = c->saved;
  c->saved = NULL;
  PyEval_RestoreThread(t);   /* a daemon thread exits here once finalisation started */
  c->ts = t;
}

/* A syscall with the GIL released (Py_BEGIN_ALLOW_THREADS / Py_END_ALLOW_THREADS). */
IFZ_FN void ifz_block(ifz_thread *c) {
  if (!c->ts) { sched_yield(); return; }
  PyThreadState *t = PyEval_SaveThread();
  sched_yield();
  PyEval_RestoreThread(t);
}

/* N eval-loop iterations: each backward jump checks the eval breaker (GIL drop requests,
 * pending calls, signals). */
IFZ_FN void ifz_run_bytecode(int n) {
  char code[64];
  snprintf(code, sizeof code, "for _ in range(%d): pass\n", n);
  PyObject *g = PyDict_New();
  PyDict_SetItemString(g, "__builtins__", PyEval_GetBuiltins());
  PyObject *r = PyRun_String(code, Py_file_input, g, g);
  /* A failing pending call's exception leaves the loop (ceval's `goto error`): observable. */
  if (!r) ifz_raised();
  Py_XDECREF(r);
  Py_DECREF(g);
}

IFZ_FN PyThreadState *ifz_current_tstate(void) {
#if PY_VERSION_HEX >= 0x030D0000
  return PyThreadState_GetUnchecked();
#else
  return _PyThreadState_UncheckedGet();
#endif
}

/* What PyGILState_GetThisThreadState() returns now, as the observable "gilstate_tstate
 * interp=<id> current=<is it the current thread state>" or "gilstate_tstate none". */
IFZ_FN void ifz_obs_gilstate_tstate(void) {
  PyThreadState *g = PyGILState_GetThisThreadState();
  if (!g) {
    ifz_obs("gilstate_tstate none");
    return;
  }
  ifz_obs("gilstate_tstate interp=%lld current=%d", ifz_interp_id(g), g == ifz_current_tstate());
}

/* Any thread, with or without a thread state: the GILState thread state of this OS thread is
 * made current (nested: it already was). */
IFZ_FN void ifz_gilstate_ensure(ifz_thread *c) {
  c->gs[c->gs_depth] = PyGILState_Ensure();
  c->ts = c->gilstate = c->gs_ts[c->gs_depth++] = PyThreadState_Get();
  ifz_obs_gilstate_tstate();
}

/* Without the observable: a thread's cleanup, not an op of the program. Afterwards the thread
 * runs with what was current before the matching ensure (nothing, or its own thread state). */
IFZ_FN void ifz_gilstate_release_quietly(ifz_thread *c) {
  PyGILState_Release(c->gs[--c->gs_depth]);
  c->gilstate = c->gs_depth > 0 ? c->gs_ts[c->gs_depth - 1] : NULL;
  c->ts = ifz_current_tstate();
}

IFZ_FN void ifz_gilstate_check(void) { ifz_obs("gilstate_check %d", PyGILState_Check()); }

IFZ_FN void ifz_gilstate_release(ifz_thread *c) {
  ifz_gilstate_release_quietly(c);
  ifz_obs_gilstate_tstate();
}

/* ---- pending calls ---------------------------------------------------------------------- */
static int ifz_pending_call(void *arg);

IFZ_FN void ifz_add_pending(int kind) {
  int rc = Py_AddPendingCall(ifz_pending_call, (void *)(intptr_t)kind);
  ifz_obs("pending_added rc=%d", rc);
}

/* Runs of `forever` calls: not printed one by one (their number under Python code depends on
 * how often the eval loop checks the breaker); Py_MakePendingCalls prints its pass's count. */
static long ifz_forever_runs;

static int ifz_pending_call(void *arg) {
  int kind = (int)(intptr_t)arg;
  if (kind == IFZ_FOREVER) {  /* re-adds itself every time it runs */
    ++ifz_forever_runs;
    (void)Py_AddPendingCall(ifz_pending_call, arg);
    return 0;
  }
#if PY_VERSION_HEX >= 0x03090000
  PyInterpreterState *interp = PyInterpreterState_Get();
#else
  PyInterpreterState *interp = PyThreadState_Get()->interp;
#endif
  ifz_obs("pending_ran interp=%lld", (long long)PyInterpreterState_GetID(interp));
  switch (kind) {
    case IFZ_TOUCH:       /* reads its interpreter's state */
#if PY_VERSION_HEX >= 0x03080000
      (void)PyInterpreterState_GetDict(interp);
#else
      (void)PyInterpreterState_GetID(interp);
#endif
      return 0;
    case IFZ_REARM:       /* queues a follow-up no-op from inside the call */
    case IFZ_ADDS:        /* Py_AddPendingCall from inside the call (the model: its routing) */
      ifz_add_pending(IFZ_NOOP);
      return 0;
    case IFZ_FAIL:
      PyErr_SetString(PyExc_RuntimeError, "interpfuzz: failing pending call");
      return -1;
    case IFZ_SLOW:        /* Python code: the eval breaker is checked inside the call */
      ifz_run_bytecode(3);
      return 0;
    default:
      return 0;
  }
}

IFZ_FN void ifz_make_pending(void) {
  long before = ifz_forever_runs;
  if (Py_MakePendingCalls() < 0) ifz_raised();  /* -1 with the failing call's exception */
  if (ifz_forever_runs != before) ifz_obs("pending_forever_runs n=%ld", ifz_forever_runs - before);
}

/* ---- threads ---------------------------------------------------------------------------- */
/* A script ended: give back what the thread holds, so that its end is CPython's normal thread
 * end and not an abandoned GIL (interpfuzz's Execution::cleanup_thread). */
/* Releases the ensures above `depth` whose thread state is current, then re-attaches what the
 * script released (interpfuzz's Execution::unwind_gilstate). */
IFZ_FN void ifz_unwind_gilstate(ifz_thread *c, int depth) {
  while (c->gs_depth > depth && c->ts && c->ts == c->gilstate) ifz_gilstate_release_quietly(c);
  if (c->saved && !c->ts) {
    PyEval_RestoreThread(c->saved);
    c->ts = c->saved;
    c->saved = NULL;
  }
}

IFZ_FN void ifz_cleanup_thread(ifz_thread *c) {
  ifz_unwind_gilstate(c, 0);
  PyThreadState *base = c->gs_depth > 0 ? c->gilstate : c->created ? c->created : c->home;
  if (base && c->ts && c->ts != base) {
    PyThreadState_Swap(base);
    c->ts = base;
  }
  ifz_unwind_gilstate(c, 0);
  if (c->created && c->ts == c->created) ifz_delete_tstate(c);
  if (!c->is_c_thread && c->home && c->ts && c->ts != c->home) {
    PyThreadState_Swap(c->home);
    c->ts = c->home;
  }
  /* A C thread returns without holding the GIL, whatever thread state it still has attached
   * (interpfuzz's Execution::cleanup_thread). */
  if (c->is_c_thread && c->ts) {
    c->saved = PyEval_SaveThread();
    c->ts = NULL;
  }
}

static PyObject *ifz_python_thread_main(PyObject *self, PyObject *unused) {
  (void)unused;
  ifz_thread *c = &ifz_threads[PyLong_AsLong(self)];
  ifz_self = c;
  c->ts = c->home = PyThreadState_Get();
  long long id = ifz_interp_id(c->ts);
  if (id >= 0 && id < IFZ_MAX_INTERP) c->own[id] = c->ts;
  ifz_scripts[c - ifz_threads](c);
  /* The forking thread ends the fork child with its script, like os._exit in a Python child
   * (interpfuzz's Execution::run_thread). */
  if (c->fork_child_main) ifz_exit_process(0);
  ifz_cleanup_thread(c);
  c->done = 1;
  Py_RETURN_NONE;
}
static PyMethodDef ifz_thread_def = {"ifz_thread", ifz_python_thread_main, METH_NOARGS, NULL};

static void *ifz_c_thread_main(void *arg) {
  ifz_thread *c = (ifz_thread *)arg;
  ifz_self = c;
  ifz_scripts[c - ifz_threads](c);
  /* The forking thread ends the fork child with its script, like os._exit in a Python child
   * (interpfuzz's Execution::run_thread). */
  if (c->fork_child_main) ifz_exit_process(0);
  ifz_cleanup_thread(c);
  c->done = 1;
  return NULL;
}

/* threading.Thread(target, daemon).start(), _thread.start_new_thread, or a C thread. */
IFZ_FN void ifz_start(int script, int kind) {
  ifz_thread *t = &ifz_threads[script];
  t->kind = kind;
  t->is_c_thread = kind == IFZ_C;
  if (kind == IFZ_C) {
    pthread_create(&t->cthread, NULL, ifz_c_thread_main, t);
    return;
  }
  PyObject *idx = PyLong_FromLong(script);
  PyObject *target = PyCFunction_New(&ifz_thread_def, idx);
  PyObject *r = NULL;
  if (kind == IFZ_RAW) {
    PyObject *mod = PyImport_ImportModule("_thread");
    r = mod ? PyObject_CallMethod(mod, "start_new_thread", "O()", target) : NULL;
    Py_XDECREF(mod);
  } else {
    PyObject *mod = PyImport_ImportModule("threading");
    PyObject *cls = mod ? PyObject_GetAttrString(mod, "Thread") : NULL;
    PyObject *args = PyTuple_New(0);
    PyObject *kw = Py_BuildValue("{s:O,s:O}", "target", target, "daemon",
                                 kind == IFZ_DAEMON ? Py_True : Py_False);
    t->pythread = cls ? PyObject_Call(cls, args, kw) : NULL;
    r = t->pythread ? PyObject_CallMethod(t->pythread, "start", NULL) : NULL;
    Py_XDECREF(kw);
    Py_XDECREF(args);
    Py_XDECREF(cls);
    Py_XDECREF(mod);
  }
  if (!r) ifz_raised();
  Py_XDECREF(r);
  Py_XDECREF(target);
  Py_XDECREF(idx);
}

/* threading.Thread.join for threading threads; for a raw or C thread, its end (GIL released
 * while waiting). */
IFZ_FN void ifz_join(ifz_thread *c, int script) {
  ifz_thread *t = &ifz_threads[script];
  if (t->pythread) {
    PyObject *r = PyObject_CallMethod(t->pythread, "join", NULL);
    if (!r) ifz_raised();
    Py_XDECREF(r);
    return;
  }
  PyThreadState *ts = c->ts ? PyEval_SaveThread() : NULL;
  if (t->kind == IFZ_C) pthread_join(t->cthread, NULL);
  while (!t->done) usleep(1000);
  if (ts) PyEval_RestoreThread(ts);
}

/* atexit.register / threading._register_atexit: the script runs on the thread that calls it
 * (the finalizing thread, or the thread ending a subinterpreter) and gives that thread back as
 * it found it. The calling tstate is the real current one: Py_FinalizeEx ending a leftover
 * subinterpreter (3.13+) runs its callbacks on a tstate the program never saw. */
static PyObject *ifz_atexit_main(PyObject *self, PyObject *unused) {
  (void)unused;
  ifz_thread *c = ifz_self;
  PyThreadState *outer = c->ts;
  PyThreadState *before = PyThreadState_Get();
  int depth_before = c->gs_depth;
  c->ts = before;
  ifz_scripts[PyLong_AsLong(self)](c);
  ifz_unwind_gilstate(c, depth_before);
  if (before && c->ts != before) PyThreadState_Swap(before);
  c->ts = outer;
  Py_RETURN_NONE;
}
static PyMethodDef ifz_atexit_def = {"ifz_atexit", ifz_atexit_main, METH_NOARGS, NULL};

/* atexit.register (module "atexit", "register") or threading._register_atexit ("threading",
 * "_register_atexit"), in the current interpreter. */
IFZ_FN void ifz_atexit(int script, const char *module, const char *function) {
  PyObject *idx = PyLong_FromLong(script);
  PyObject *fn = PyCFunction_New(&ifz_atexit_def, idx);
  PyObject *mod = PyImport_ImportModule(module);
  PyObject *r = mod ? PyObject_CallMethod(mod, function, "O", fn) : NULL;
  if (!r) ifz_raised();
  Py_XDECREF(r);
  Py_XDECREF(mod);
  Py_XDECREF(fn);
  Py_XDECREF(idx);
}

/* signal.signal(SIGUSR2, its current handler): changes nothing but goes through the checks
 * (ValueError off the main thread; 3.8+ also outside the main interpreter). `_signal`, not
 * `signal`: a builtin module, so that the first import runs as little Python code as the
 * model's one eval-breaker check. */
IFZ_FN void ifz_set_signal(void) {
  PyObject *mod = PyImport_ImportModule("_signal");
  PyObject *h = mod ? PyObject_CallMethod(mod, "getsignal", "i", SIGUSR2) : NULL;
  PyObject *r = h ? PyObject_CallMethod(mod, "signal", "iO", SIGUSR2, h) : NULL;
  if (!r) ifz_raised();
  else ifz_obs("set_signal ok");
  Py_XDECREF(r);
  Py_XDECREF(h);
  Py_XDECREF(mod);
}

/* ---- fork ------------------------------------------------------------------------------- */
/* Thread states of the forking thread's interpreter in the child (K1: only the forking
 * thread's). Other interpreters are not counted: 3.7 keeps them in the child (with this same
 * thread's thread states in them), 3.8+ deletes them (_PyInterpreterState_DeleteExceptMain). */
IFZ_FN int ifz_count_tstates(void) {
  int n = 0;
#if PY_VERSION_HEX >= 0x03090000
  PyInterpreterState *i = PyThreadState_GetInterpreter(PyThreadState_Get());
#else
  PyInterpreterState *i = PyThreadState_Get()->interp;
#endif
  for (PyThreadState *t = PyInterpreterState_ThreadHead(i); t; t = PyThreadState_Next(t)) ++n;
  return n;
}

/* ---- "a thread is inside HEAD_LOCK" (hold_lock HEAD) ------------------------------------
 * No public API holds the runtime's HEAD_LOCK from outside, but creating and deleting a thread
 * state takes it (new_threadstate, tstate_delete_common). So a held HEAD_LOCK becomes a C
 * thread that does that in a loop, and a fork that interpfuzz ran inside the critical section
 * becomes a race the reproducer repeats until it is won (ifz_os_fork_in_window). */
static volatile int ifz_churn_on;
static pthread_t ifz_churn_thread;

static void *ifz_churn_main(void *arg) {
  PyInterpreterState *interp = (PyInterpreterState *)arg;
  while (ifz_churn_on) {
    PyThreadState *t = PyThreadState_New(interp);  /* HEAD_LOCK */
#if PY_VERSION_HEX >= 0x030D0000
    /* PyThreadState_Clear wants the GIL and a current thread state of the same interpreter
     * (3.13's debug build asserts current_fast_get()->interp == tstate->interp, a NULL read
     * without one). HEAD_LOCK is still taken without the GIL, by New and Delete. Before 3.13
     * the churn stays GIL-free: its HEAD_LOCK bursts must stay dense for the fork window
     * (ifz_os_fork_in_window), and those versions' Clear does not read the current tstate. */
    PyEval_RestoreThread(t);
    PyThreadState_Clear(t);
    PyEval_SaveThread();
#else
    PyThreadState_Clear(t);
#endif
    PyThreadState_Delete(t);                       /* HEAD_LOCK */
  }
  return NULL;
}

/* hold_lock HEAD: from now until ifz_head_lock_churn_end, HEAD_LOCK is taken again and again
 * (in the main interpreter: the oldest, last in the list). */
IFZ_FN void ifz_head_lock_churn_begin(void) {
  PyInterpreterState *main_interp = PyInterpreterState_Head();
  while (PyInterpreterState_Next(main_interp)) main_interp = PyInterpreterState_Next(main_interp);
  ifz_churn_on = 1;
  pthread_create(&ifz_churn_thread, NULL, ifz_churn_main, main_interp);
}

IFZ_FN void ifz_head_lock_churn_end(void) {
  if (!ifz_churn_on) return;
  ifz_churn_on = 0;
#if PY_VERSION_HEX >= 0x030D0000
  /* The churn takes the GIL for each Clear: the joiner must not keep it. */
  PyThreadState *cur = PyThreadState_GetUnchecked();
  if (cur) PyEval_SaveThread();
  pthread_join(ifz_churn_thread, NULL);
  if (cur) PyEval_RestoreThread(cur);
#else
  pthread_join(ifz_churn_thread, NULL);
#endif
}

/* os.fork() as Python code calls it: the child's pid, 0 in the child, -1 if it raised
 * (observable). Evaluated, not called from C, so that the eval loop checks its breaker first
 * (pending calls, signals), as at any Python call site. */
IFZ_FN long ifz_os_fork(void) {
  PyObject *g = PyDict_New();
  PyDict_SetItemString(g, "__builtins__", PyEval_GetBuiltins());
  PyObject *r = PyRun_String("__import__('os').fork()", Py_eval_input, g, g);
  Py_DECREF(g);
  if (!r) { ifz_raised(); return -1; }
  long pid = PyLong_AsLong(r);
  Py_DECREF(r);
  return pid;
}

/* os.fork() that interpfuzz ran while another thread was inside HEAD_LOCK (whose child then
 * did not get out of PyOS_AfterFork_Child). A child that does come out of os.fork() forked
 * outside the window: it leaves with IFZ_MISSED_WINDOW and the parent forks again, up to
 * IFZ_WINDOW_ATTEMPTS times; the last attempt's child goes on with the program whatever
 * happened. A child that stays inside makes the process hang, as interpfuzz's did. */
#define IFZ_MISSED_WINDOW 125
#define IFZ_WINDOW_ATTEMPTS 1000
IFZ_FN long ifz_os_fork_in_window(void) {
  for (int attempt = 1;; ++attempt) {
    long pid = ifz_os_fork();
    if (attempt == IFZ_WINDOW_ATTEMPTS || pid < 0) return pid;
    if (pid == 0) {
      if (ifz_churn_on) _exit(IFZ_MISSED_WINDOW);  /* the churn thread is gone: no race left */
      return pid;
    }
    int st = 0;
    Py_BEGIN_ALLOW_THREADS
    while (waitpid((pid_t)pid, &st, 0) < 0 && errno == EINTR) {}
    Py_END_ALLOW_THREADS
    if (!(WIFEXITED(st) && WEXITSTATUS(st) == IFZ_MISSED_WINDOW)) {
      /* informative, so on stderr (kept with the real runs), not an IFZ observable line */
      fprintf(stderr, "ifz: fork_window_attempts=%d\n", attempt);
      ifz_exit_like(st);
    }
  }
}

/* interpfuzz followed the child: the parent only waits for it and ends as it ended, so the
 * process's outcome is the child's (other parent threads stay parked). */
IFZ_FN void ifz_become_child_outcome(ifz_thread *c, long pid) {
  if (c->ts) PyEval_SaveThread();
  c->ts = NULL;
  int st = 0;
  while (waitpid((pid_t)pid, &st, 0) < 0 && errno == EINTR) {}
  ifz_exit_like(st);
}

/* subprocess.run(['/bin/true'], preexec_fn=...): -1 and "raised <type>" if refused, else the
 * child's returncode (negative: killed by that signal). */
IFZ_FN int ifz_subprocess(int preexec) {
  PyObject *g = PyDict_New();
  PyDict_SetItemString(g, "__builtins__", PyEval_GetBuiltins());
  PyDict_SetItemString(g, "PREEXEC", preexec ? Py_True : Py_False);
  PyObject *r = PyRun_String(
      "import subprocess\n"
      "rc = subprocess.run(['/bin/true'], preexec_fn=(lambda: None) if PREEXEC else None).returncode\n",
      Py_file_input, g, g);
  int rc = -1;
  if (!r) {
    ifz_raised();
    rc = INT_MIN;
  } else {
    rc = (int)PyLong_AsLong(PyDict_GetItemString(g, "rc"));
  }
  Py_XDECREF(r);
  Py_DECREF(g);
  return rc;
}

IFZ_FN void ifz_exit_like_returncode(int rc) {
  if (rc >= 0) ifz_exit_process(rc);
  signal(-rc, SIG_DFL);
  kill(getpid(), -rc);
  for (;;) pause();
}

)IFZC";

const char* const kDispatch = R"IFZC(
/* ---- the ops whose C API depends on the version ------------------------------------------ */
/* Py_NewInterpreter; with its own GIL, Py_NewInterpreterFromConfig (3.12+, PEP 684) or the
 * isolated _Py_NewInterpreter of 3.9-3.11 (bpo-40453). emit-c refuses what a version lacks. */
IFZ_FN void ifz_new_interp(ifz_thread *c, int variant) {
  int isolated = variant & 1, own_gil = isolated || (variant & 2);
  PyThreadState *before = c->ts, *t = NULL;
  (void)isolated;
  (void)own_gil;
#if PY_VERSION_HEX >= 0x030C0000
  if (own_gil) {
    /* `isolated` also refuses fork, exec and daemon threads (gh-98610). */
    PyStatus st;
    if (isolated) {
      PyInterpreterConfig cfg = _PyInterpreterConfig_INIT;
      st = Py_NewInterpreterFromConfig(&t, &cfg);
    } else {
      PyInterpreterConfig cfg = {.use_main_obmalloc = 0, .allow_fork = 1, .allow_exec = 1,
                                 .allow_threads = 1, .allow_daemon_threads = 1,
                                 .check_multi_interp_extensions = 1,
                                 .gil = PyInterpreterConfig_OWN_GIL};
      st = Py_NewInterpreterFromConfig(&t, &cfg);
    }
    if (PyStatus_Exception(st)) t = NULL;
  } else {
    t = Py_NewInterpreter();
  }
#elif PY_VERSION_HEX >= 0x03090000
  t = own_gil ? _Py_NewInterpreter(/*isolated_subinterpreter=*/1) : Py_NewInterpreter();
#else
  t = Py_NewInterpreter();
#endif
  ifz_record_new_interp(c, before, t);
}

/* The per-interpreter add, as CPython's own _testinternalcapi.pending_identify does it. */
IFZ_FN void ifz_add_pending_to(int interp, int kind) {
#if PY_VERSION_HEX >= 0x03090000
  PyInterpreterState *to = ifz_find_interp(interp);
#if PY_VERSION_HEX >= 0x030C0000
  int rc = to ? (int)_PyEval_AddPendingCall(to, ifz_pending_call, (void *)(intptr_t)kind, 0) : -1;
#else
  int rc = to ? _PyEval_AddPendingCall(to, ifz_pending_call, (void *)(intptr_t)kind) : -1;
#endif
  ifz_obs("pending_added rc=%d", rc);
#else
  (void)interp;
  (void)kind;
  ifz_obs("note add_pending to an interpreter: refused before 3.9");
#endif
}

/* trip_signal, as a C signal handler would. */
IFZ_FN void ifz_trip_signal(int sig) {
#if PY_VERSION_HEX >= 0x030A0000
  (void)PyErr_SetInterruptEx(sig);
#else
  (void)sig;  /* only SIGINT before 3.10: emit-c refuses the others */
  PyErr_SetInterrupt();
#endif
}

/* hold_lock: HEAD as the churn (above), IMPORT as _PyImport_AcquireLock (3.7-3.11); emit-c
 * refuses the other locks. ifz_release_lock gives it back at the op's end turn. */
IFZ_FN void ifz_hold_lock(int lock) {
  if (lock == 0) ifz_head_lock_churn_begin();
#if PY_VERSION_HEX < 0x030C0000
  if (lock == 3) _PyImport_AcquireLock();
#endif
}

IFZ_FN void ifz_release_lock(int lock) {
  if (lock == 0) ifz_head_lock_churn_end();
#if PY_VERSION_HEX < 0x030C0000
  if (lock == 3) _PyImport_ReleaseLock();
#endif
}

/* ---- THE op -> C-API mapping: one ifz_op, one call. repro.c calls it op by op; interpfuzz's
 * real-CPython driver walks tables of the same ops. --------------------------------------- */
typedef struct ifz_op {
  int code;     /* IFZ_OP_* */
  int interp;   /* swap, new_tstate: I<n>; add_pending: target, -1 = Py_AddPendingCall */
  int thread;   /* start, join, atexit: script; fork: child script */
  int count;    /* run_bytecode: N; signal: signum; exit: status */
  int variant;  /* start: IFZ_THREADING...; add_pending: IFZ_NOOP...; fork: 0 fork, 1 exec,
                 * 2 preexec; hold_lock: 0 HEAD, 3 IMPORT; new_interp: 1 isolated | 2 own GIL */
  int flags;    /* fork: IFZ_FOLLOW_CHILD | IFZ_CHILD_SCRIPT_RUNS */
} ifz_op;
#define IFZ_FOLLOW_CHILD 1
#define IFZ_CHILD_SCRIPT_RUNS 2

/* K3: which of this thread's thread states a fork child will not have, read before the fork
 * (in the child they are freed): all but the current one in its interpreter
 * (_PyThreadState_DeleteExcept), and from 3.8 every one in another interpreter
 * (_PyInterpreterState_DeleteExceptMain). interpfuzz's op_fork decides the same. */
typedef struct { PyThreadState *ts[8 + 16 + 2 * IFZ_MAX_INTERP]; int n; } ifz_tstate_set;

IFZ_FN void ifz_consider_gone(ifz_tstate_set *g, PyThreadState *t, PyThreadState *cur) {
  if (!t || t == cur) return;
#if PY_VERSION_HEX >= 0x03080000
  g->ts[g->n++] = t;
#else
  if (ifz_interp_id(t) == ifz_interp_id(cur)) g->ts[g->n++] = t;
#endif
}

IFZ_FN ifz_tstate_set ifz_forked_away(ifz_thread *c) {
  ifz_tstate_set g = {{0}, 0};
  PyThreadState *cur = c->ts;
  if (!cur) return g;
  ifz_consider_gone(&g, c->home, cur);
  ifz_consider_gone(&g, c->saved, cur);
  ifz_consider_gone(&g, c->created, cur);
  for (int i = 0; i < c->gs_depth; ++i) ifz_consider_gone(&g, c->gs_ts[i], cur);
  for (int i = 0; i < IFZ_MAX_INTERP; ++i) {
    ifz_consider_gone(&g, c->own[i], cur);
    ifz_consider_gone(&g, c->prev[i], cur);
  }
  return g;
}

IFZ_FN int ifz_went(const ifz_tstate_set *g, PyThreadState *t) {
  for (int i = 0; t && i < g->n; ++i) {
    if (g->ts[i] == t) return 1;
  }
  return 0;
}

/* In the child: the embedder's pointers to those would dangle, it forgets them; of its open
 * ensures, those from the first forgotten level up (releases go innermost first). */
IFZ_FN void ifz_forget_forked_away(ifz_thread *c, const ifz_tstate_set *g) {
  if (ifz_went(g, c->home)) c->home = NULL;
  if (ifz_went(g, c->saved)) c->saved = NULL;
  if (ifz_went(g, c->created)) c->created = NULL;
  for (int i = 0; i < IFZ_MAX_INTERP; ++i) {
    if (ifz_went(g, c->own[i])) c->own[i] = NULL;
    if (ifz_went(g, c->prev[i])) c->prev[i] = NULL;
  }
  for (int i = 0; i < c->gs_depth; ++i) {
    if (ifz_went(g, c->gs_ts[i])) c->gs_depth = i;
  }
  c->gilstate = c->gs_depth > 0 ? c->gs_ts[c->gs_depth - 1] : NULL;
}

/* fork: os.fork(), or subprocess.run(['/bin/true']) with or without preexec_fn. Followed into
 * the child, the process's outcome is the child's; with a hold_lock HEAD churn running,
 * interpfuzz's fork fell inside the critical section: ifz_os_fork_in_window repeats it until a
 * child stays inside. */
static void ifz_note_forked(void) { ifz_fork_done = 1; }

/* In the child of a fork whose parent interpfuzz follows: silenced before PyOS_AfterFork_Child
 * runs, so that what it prints (a fatal error of its own, e.g. a fork from a subinterpreter)
 * cannot pass for the followed process's outcome. */
static void ifz_silence_unfollowed_child(void) {
  if (ifz_fork_drop != 2) return;
  int fd = open("/dev/null", O_WRONLY);
  if (fd < 0) return;
  dup2(fd, 1);
  dup2(fd, 2);
  close(fd);
}

IFZ_FN void ifz_fork(ifz_thread *self, const ifz_op *op) {
  int follow_child = op->flags & IFZ_FOLLOW_CHILD;
  static int atfork_registered;
  if (!atfork_registered) pthread_atfork(NULL, ifz_note_forked, ifz_silence_unfollowed_child);
  atfork_registered = 1;
  ifz_fork_parent = getpid();
  ifz_fork_done = 0;
  if (op->variant != 0) {
    /* the child runs preexec_fn (Python code) then execs: it is never the model's process */
    ifz_fork_drop = 2;
    int rc = ifz_subprocess(/*preexec=*/op->variant == 2);
    ifz_fork_drop = 0;
    /* interpfuzz followed the child, which execs /bin/true: end as it ended */
    if (follow_child && rc != INT_MIN) ifz_exit_like_returncode(rc);
    return;
  }
  ifz_tstate_set gone = ifz_forked_away(self);
  ifz_fork_drop = follow_child ? 1 : 2;
#if PY_VERSION_HEX >= 0x030D0000
  /* 3.13: PyOS_BeforeFork takes HEAD_LOCK itself, so no fork falls inside another thread's
   * HEAD_LOCK critical section: there is no window to repeat the fork for (the model's fork
   * waits for the holder, runtime/fork.cc before_fork). */
  long pid = ifz_os_fork();
#else
  long pid = follow_child && ifz_churn_on ? ifz_os_fork_in_window() : ifz_os_fork();
#endif
  if (!follow_child) {
    /* interpfuzz followed the parent: the child leaves at once (not compared) */
    if (pid == 0) ifz_exit_process(0);
    ifz_fork_drop = 0;
    return;
  }
  if (pid <= 0) ifz_fork_drop = 0;  /* the followed child (or no fork: it raised) reports */
  if (pid == 0) {
    ifz_forget_forked_away(self, &gone);
    self->fork_child_main = 1;
    ifz_obs("fork_child threads=%d", ifz_count_tstates());
    /* _PyOS_IsMainThread: the forking thread became the child's main thread
     * (PyOS_AfterFork_Child) and, in the main interpreter, is where signal handlers run. */
    ifz_obs("fork_child main_thread=%d", _PyOS_IsMainThread());
    if (op->flags & IFZ_CHILD_SCRIPT_RUNS) {
      ifz_scripts[op->thread](self);
      ifz_exit_process(0);
    }
  } else if (pid > 0) {
    /* interpfuzz followed the child: this parent only mirrors its end */
    ifz_become_child_outcome(self, pid);
  }
}

IFZ_FN void ifz_do_op(ifz_thread *self, const ifz_op *op) {
  switch (op->code) {
    case IFZ_OP_INIT:
    case IFZ_OP_REINIT: ifz_init(self); return;
    case IFZ_OP_FINALIZE: ifz_finalize(self); return;
    case IFZ_OP_NEW_INTERP: ifz_new_interp(self, op->variant); return;
    case IFZ_OP_END_INTERP: ifz_end_interp(self); return;
    case IFZ_OP_SWAP: ifz_swap(self, op->interp); return;
    case IFZ_OP_START: ifz_start(op->thread, op->variant); return;
    case IFZ_OP_JOIN: ifz_join(self, op->thread); return;
    case IFZ_OP_RELEASE_GIL: ifz_release_gil(self); return;
    case IFZ_OP_ACQUIRE_GIL: ifz_acquire_gil(self); return;
    case IFZ_OP_BLOCK: ifz_block(self); return;
    case IFZ_OP_RUN_BYTECODE: ifz_run_bytecode(op->count); return;
    case IFZ_OP_ADD_PENDING:
      if (op->interp < 0) ifz_add_pending(op->variant);
      else ifz_add_pending_to(op->interp, op->variant);
      return;
    case IFZ_OP_MAKE_PENDING: ifz_make_pending(); return;
    case IFZ_OP_SIGNAL: ifz_trip_signal(op->count); return;
    case IFZ_OP_GILSTATE_ENSURE: ifz_gilstate_ensure(self); return;
    case IFZ_OP_GILSTATE_RELEASE: ifz_gilstate_release(self); return;
    case IFZ_OP_GILSTATE_CHECK: ifz_gilstate_check(); return;
    case IFZ_OP_LOCK_ACQUIRE: ifz_user_sync_call(0, op->variant, "acquire", "lock_acquire"); return;
    case IFZ_OP_LOCK_RELEASE: ifz_user_sync_call(0, op->variant, "release", "lock_release"); return;
    case IFZ_OP_EVENT_SET: ifz_user_sync_call(1, op->variant, "set", "event_set"); return;
    case IFZ_OP_EVENT_WAIT: ifz_user_sync_call(1, op->variant, "wait", "event_wait"); return;
    case IFZ_OP_NEW_TSTATE: ifz_new_tstate(self, op->interp); return;
    case IFZ_OP_DELETE_TSTATE: ifz_delete_tstate(self); return;
    case IFZ_OP_FORK: ifz_fork(self, op); return;
    case IFZ_OP_HOLD_LOCK: ifz_hold_lock(op->variant); return;
    case IFZ_OP_ATEXIT: ifz_atexit(op->thread, "atexit", "register"); return;
    case IFZ_OP_THREADING_ATEXIT: ifz_atexit(op->thread, "threading", "_register_atexit"); return;
    case IFZ_OP_SET_SIGNAL: ifz_set_signal(); return;
    case IFZ_OP_EXIT: ifz_exit_process(op->count); return;
    case IFZ_OP_YIELD: return;  /* a plain scheduling point: the handshake is the schedule */
  }
  ifz_obs("note unknown op %d", op->code);
}

/* One step of a script: a turn handshake or an op (interpfuzz's ScriptSteps). */
typedef struct ifz_step {
  int kind;     /* IFZ_STEP_* */
  int turn;
  ifz_op op;
} ifz_step;

IFZ_FN void ifz_do_step(ifz_thread *self, const ifz_step *s) {
  switch (s->kind) {
    case IFZ_STEP_WAIT: ifz_wait(s->turn); return;
    case IFZ_STEP_WAIT_HOLDING: ifz_wait_holding(s->turn); return;
    case IFZ_STEP_PASS: ifz_pass(s->turn); return;
    case IFZ_STEP_PASS_INTO_GIL_WAIT: ifz_pass_into_gil_wait(s->turn); return;
    case IFZ_STEP_PASS_BLOCKING: ifz_pass_blocking(s->turn); return;
    case IFZ_STEP_OP: ifz_do_op(self, &s->op); return;
    case IFZ_STEP_HOLD_OBSERVABLES: ifz_hold_observables(); return;
    case IFZ_STEP_RELEASE_LOCK: ifz_release_lock(s->op.variant); return;
    case IFZ_STEP_YIELD: sched_yield(); return;
    case IFZ_STEP_GRACE: ifz_grace(); return;
    case IFZ_STEP_PARK: ifz_park(); return;
  }
  ifz_obs("note unknown step %d", s->kind);
}
)IFZC";

}  // namespace

const char* c_includes() {
  return "#define PY_SSIZE_T_CLEAN\n"
         "#include <Python.h>\n\n"
         "#include <errno.h>\n#include <fcntl.h>\n#include <limits.h>\n#include <pthread.h>\n"
         "#include <sched.h>\n#include <signal.h>\n#include <stdarg.h>\n#include <stdint.h>\n"
         "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <sys/syscall.h>\n"
         "#include <sys/wait.h>\n#include <time.h>\n#include <unistd.h>\n";
}

const std::string& c_prelude() {
  static const std::string kText = std::string(kPrelude) + "\n" + c_vocabulary_enums() + kDispatch;
  return kText;
}

}  // namespace ifz::harness::emit
