/* lifecycle_313_315.c — probes of CPython 3.13–3.15 lifecycle behaviour (docs/versions-3.13-3.15.md).
 *
 * One scenario per run (argv[1]); run each in a fresh process with a watchdog, e.g. inside the
 * sid root:
 *   gcc /tmp/lifecycle_313_315.c $(python3.14-config --includes --ldflags --embed) -lpthread -o /tmp/p
 *   for s in $(/tmp/p list); do timeout 10 /tmp/p $s; echo "[$s] exit=$?"; done
 * Works against python3.13/3.14/3.15 and their d (debug) configs. A scenario prints what it
 * observed; "exit=124" means the watchdog (timeout) fired, 134 = SIGABRT (Py_FatalError),
 * 139 = SIGSEGV.
 */
#include <Python.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/syscall.h>
#include <errno.h>
#include <unistd.h>

/* Is OS thread `tid` (a native thread id) still alive? The sid root has no /proc mounted, so
   /proc/self/task cannot be counted: tgkill(pid, tid, 0) answers ESRCH once the thread is gone. */
static const char *thread_fate(long tid) {
  if (tid <= 0) return "unknown";
  if (syscall(SYS_tgkill, getpid(), (pid_t)tid, 0) == 0) return "alive (parked/hung)";
  return errno == ESRCH ? "gone (exited)" : "unknown";
}
/* The native id of the daemon thread kDaemon started, read from __main__._daemon_tid. */
static long daemon_tid(void) {
  PyObject *m = PyImport_AddModule("__main__");
  PyObject *v = m ? PyObject_GetAttrString(m, "_daemon_tid") : NULL;
  long tid = v ? PyLong_AsLong(v) : -1;
  Py_XDECREF(v);
  PyErr_Clear();
  return tid;
}
static void say(const char *s) { (void)!write(1, s, strlen(s)); }
static int noop_cb(void *arg) { (void)arg; say("pending: noop ran\n"); return 0; }
static int fail_cb(void *arg) {
  (void)arg; say("pending: fail ran\n");
  PyErr_SetString(PyExc_RuntimeError, "failing pending call");
  return -1;
}
static int quiet_cb(void *arg) { (void)arg; return 0; }

static const char *kDaemon =
    "import threading, time\n"
    "_daemon_tid = None\n"
    "def _spin():\n"
    "    global _daemon_tid\n"
    "    _daemon_tid = threading.get_native_id()\n"
    "    while True: time.sleep(0.005)\n"
    "threading.Thread(target=_spin, daemon=True).start()\n"
    "time.sleep(0.02)\n";

/* A: a daemon thread wants the GIL after Py_FinalizeEx: exits (<=3.13.7) or hangs (gh-87135). */
static int s_daemon_after_finalize(void) {
  Py_Initialize();
  PyRun_SimpleString(kDaemon);
  long tid = daemon_tid();
  int rc = Py_FinalizeEx();
  usleep(300000);
  printf("finalize rc=%d; daemon thread 300 ms later: %s\n", rc, thread_fate(tid));
  return 0;
}
/* A2: a C thread with its own tstate (PyThreadState_New) in PyEval_SaveThread when Py_FinalizeEx
   runs, then PyEval_RestoreThread: exit (pthread_exit, <=3.13.7) or hang (gh-87135). */
static PyInterpreterState *g_main_interp;
static volatile long g_c_tid;
static volatile int g_c_go, g_c_returned;
static void *c_tstate_thread(void *arg) {
  (void)arg;
  g_c_tid = syscall(SYS_gettid);
  PyThreadState *t = PyThreadState_New(g_main_interp);
  PyEval_RestoreThread(t);
  PyEval_SaveThread();
  while (!g_c_go) usleep(1000);
  PyEval_RestoreThread(t);
  g_c_returned = 1;
  say("C thread: PyEval_RestoreThread returned after finalize (unexpected)\n");
  return NULL;
}
static int s_c_thread_restore_after_finalize(void) {
  Py_Initialize();
  g_main_interp = PyInterpreterState_Get();
  pthread_t th;
  PyThreadState *save = PyEval_SaveThread();
  pthread_create(&th, NULL, c_tstate_thread, NULL);
  usleep(50000);
  PyEval_RestoreThread(save);
  int rc = Py_FinalizeEx();
  g_c_go = 1;
  usleep(300000);
  printf("finalize rc=%d; C thread 300 ms after RestoreThread: %s, returned=%d\n", rc,
         thread_fate(g_c_tid), g_c_returned);
  return 0;
}
/* B: Py_EndInterpreter while the interpreter has a second (unattached) thread state. */
static int s_end_interp_second_tstate(void) {
  Py_Initialize();
  PyThreadState *main_ts = PyThreadState_Get();
  PyThreadState *sub = Py_NewInterpreter();
  PyThreadState *extra = PyThreadState_New(sub->interp);
  (void)extra;
  Py_EndInterpreter(sub);
  PyThreadState_Swap(main_ts);
  printf("Py_EndInterpreter returned with a second tstate\n");
  printf("finalize rc=%d\n", Py_FinalizeEx());
  return 0;
}
/* B2: Py_EndInterpreter while a daemon thread of the subinterpreter runs. */
static int s_end_interp_daemon(void) {
  Py_Initialize();
  PyThreadState *main_ts = PyThreadState_Get();
  PyThreadState *sub = Py_NewInterpreter();
  PyRun_SimpleString(kDaemon);
  long tid = daemon_tid();
  Py_EndInterpreter(sub);
  PyThreadState_Swap(main_ts);
  usleep(100000);
  printf("Py_EndInterpreter returned with a daemon thread; daemon: %s\n", thread_fate(tid));
  printf("finalize rc=%d\n", Py_FinalizeEx());
  return 0;
}
/* B3: Py_EndInterpreter while a non-daemon threading thread of the subinterpreter runs. */
static int s_end_interp_nondaemon(void) {
  Py_Initialize();
  PyThreadState *main_ts = PyThreadState_Get();
  PyThreadState *sub = Py_NewInterpreter();
  PyRun_SimpleString("import threading, time\nthreading.Thread(target=time.sleep, args=(0.2,)).start()\n");
  Py_EndInterpreter(sub);
  PyThreadState_Swap(main_ts);
  printf("Py_EndInterpreter returned (non-daemon joined)\n");
  printf("finalize rc=%d\n", Py_FinalizeEx());
  return 0;
}
/* C: Py_FinalizeEx with a live subinterpreter that has a daemon thread. */
static int s_finalize_subinterp_daemon(void) {
  Py_Initialize();
  PyThreadState *main_ts = PyThreadState_Get();
  (void)Py_NewInterpreter();
  PyRun_SimpleString(kDaemon);
  long tid = daemon_tid();
  PyThreadState_Swap(main_ts);
  printf("finalize rc=%d\n", Py_FinalizeEx());
  usleep(100000);
  printf("subinterpreter's daemon after finalize: %s\n", thread_fate(tid));
  return 0;
}
/* C2: Py_FinalizeEx with a live subinterpreter that has an extra unattached tstate. */
static int s_finalize_subinterp_extra_tstate(void) {
  Py_Initialize();
  PyThreadState *main_ts = PyThreadState_Get();
  PyThreadState *sub = Py_NewInterpreter();
  (void)PyThreadState_New(sub->interp);
  PyThreadState_Swap(main_ts);
  printf("finalize rc=%d\n", Py_FinalizeEx());
  return 0;
}
/* C3: Py_FinalizeEx with a plain live subinterpreter. */
static int s_finalize_subinterp(void) {
  Py_Initialize();
  PyThreadState *main_ts = PyThreadState_Get();
  (void)Py_NewInterpreter();
  PyThreadState_Swap(main_ts);
  printf("finalize rc=%d\n", Py_FinalizeEx());
  return 0;
}
/* C4: a non-daemon thread of a live subinterpreter still running at Py_FinalizeEx (gh-128639). */
static int s_finalize_subinterp_nondaemon(void) {
  Py_Initialize();
  PyThreadState *main_ts = PyThreadState_Get();
  (void)Py_NewInterpreter();
  PyRun_SimpleString("import threading, time\n"
                     "def _w():\n    time.sleep(0.2)\n    print('subinterp non-daemon thread finished', flush=True)\n"
                     "threading.Thread(target=_w).start()\n");
  PyThreadState_Swap(main_ts);
  printf("finalize rc=%d\n", Py_FinalizeEx());
  return 0;
}
/* D: gh-134144's reproducer: end an interpreter from a tstate that is not its initial one. */
static int s_gh134144(void) {
  Py_Initialize();
  PyThreadState *main_ts = PyThreadState_Get();
  PyThreadState *orig = Py_NewInterpreter();
  PyThreadState *temp = PyThreadState_New(orig->interp);
  PyThreadState_Swap(temp);
  PyThreadState_Clear(orig);
  PyThreadState_Delete(orig);
  Py_EndInterpreter(temp);
  PyThreadState_Swap(main_ts);
  printf("ended from a non-initial tstate\n");
  printf("finalize rc=%d\n", Py_FinalizeEx());
  return 0;
}
/* D2: the interpreter loses all its tstates, then gets a new one (initial storage reused). */
static int s_new_tstate_after_initial_deleted(void) {
  Py_Initialize();
  PyThreadState *main_ts = PyThreadState_Get();
  PyThreadState *sub = Py_NewInterpreter();
  PyInterpreterState *interp = sub->interp;
  PyThreadState_Swap(main_ts);
  PyThreadState *t2 = PyThreadState_New(interp);
  PyThreadState_Clear(sub);
  PyThreadState_Delete(sub);
  PyThreadState_Clear(t2);
  PyThreadState_Delete(t2);
  PyThreadState *t3 = PyThreadState_New(interp);
  PyThreadState_Swap(t3);
  PyRun_SimpleString("x = 1\n");
  Py_EndInterpreter(t3);
  PyThreadState_Swap(main_ts);
  printf("new tstate after the initial one was deleted: ok\n");
  printf("finalize rc=%d\n", Py_FinalizeEx());
  return 0;
}
/* E: Py_AddPendingCall after Py_FinalizeEx returned. */
static int s_add_pending_after_finalize(void) {
  Py_Initialize();
  Py_FinalizeEx();
  int rc = Py_AddPendingCall(noop_cb, NULL);
  printf("Py_AddPendingCall after finalize rc=%d\n", rc);
  return 0;
}
/* F: a failing pending call ahead of a no-op one when Py_FinalizeEx drains (gh-118297). */
static int s_pending_fail_then_noop_at_finalize(void) {
  Py_Initialize();
  printf("add fail rc=%d\n", Py_AddPendingCall(fail_cb, NULL));
  printf("add noop rc=%d\n", Py_AddPendingCall(noop_cb, NULL));
  fflush(stdout);
  printf("finalize rc=%d\n", Py_FinalizeEx());
  return 0;
}
/* G: PyGILState_Ensure from a C thread after Py_FinalizeEx (gh-124619, gh-131185). */
static void *gilstate_thread(void *arg) {
  (void)arg;
  say("C thread: calling PyGILState_Ensure\n");
  PyGILState_STATE s = PyGILState_Ensure();
  say("C thread: PyGILState_Ensure returned\n");
  PyGILState_Release(s);
  return NULL;
}
static int s_gilstate_after_finalize(void) {
  Py_Initialize();
  Py_FinalizeEx();
  pthread_t th;
  pthread_create(&th, NULL, gilstate_thread, NULL);
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  ts.tv_sec += 1;
  int r = pthread_timedjoin_np(th, NULL, &ts);
  printf("C thread %s\n", r == 0 ? "ended" : "still blocked after 1 s");
  return 0;
}
/* H: fork from the main interpreter while a subinterpreter exists (bpo-39958 / gh-101437 / gh-139759). */
static int s_fork_with_live_subinterp(void) {
  Py_Initialize();
  PyThreadState *main_ts = PyThreadState_Get();
  (void)Py_NewInterpreter();
  PyThreadState_Swap(main_ts);
  fflush(stdout);
  PyOS_BeforeFork();
  pid_t pid = fork();
  if (pid == 0) {
    PyOS_AfterFork_Child();
    say("child: PyOS_AfterFork_Child returned\n");
    PyRun_SimpleString("print('child: python runs', flush=True)\n");
    _exit(0);
  }
  PyOS_AfterFork_Parent();
  int st = 0, waited = 0;
  for (int i = 0; i < 300 && waited == 0; i++) { waited = waitpid(pid, &st, WNOHANG); usleep(10000); }
  if (waited == 0) { kill(pid, SIGKILL); waitpid(pid, &st, 0); printf("child hung (killed after 3 s)\n"); }
  else if (WIFEXITED(st)) printf("child exit status %d\n", WEXITSTATUS(st));
  else printf("child killed by signal %d\n", WTERMSIG(st));
  printf("finalize rc=%d\n", Py_FinalizeEx());
  return 0;
}
/* I: os.fork() from a legacy subinterpreter (bpo-40453 regression). */
static int s_fork_from_subinterp(void) {
  Py_Initialize();
  PyThreadState *main_ts = PyThreadState_Get();
  PyThreadState *sub = Py_NewInterpreter();
  PyRun_SimpleString(
      "import os, sys\n"
      "try:\n"
      "    pid = os.fork()\n"
      "except Exception as e:\n"
      "    print('fork refused:', type(e).__name__, e, flush=True)\n"
      "else:\n"
      "    if pid == 0:\n"
      "        print('child runs', flush=True); os._exit(0)\n"
      "    _, st = os.waitpid(pid, 0)\n"
      "    print('child status', st, 'exitcode', os.waitstatus_to_exitcode(st), flush=True)\n");
  Py_EndInterpreter(sub);
  PyThreadState_Swap(main_ts);
  printf("finalize rc=%d\n", Py_FinalizeEx());
  return 0;
}
/* J: Py_FinalizeEx called while a subinterpreter's tstate is current (gh-120838). */
static int s_finalize_from_subinterp(void) {
  Py_Initialize();
  (void)Py_NewInterpreter();
  printf("finalize (subinterp current) rc=%d\n", Py_FinalizeEx());
  return 0;
}
/* K: re-initialisation with a daemon thread of the previous runtime (F6). */
static int s_reinit_with_daemon(void) {
  Py_Initialize();
  PyRun_SimpleString(kDaemon);
  long tid = daemon_tid();
  Py_FinalizeEx();
  Py_Initialize();
  PyRun_SimpleString("import time\nfor _ in range(20): time.sleep(0.005)\nprint('second runtime ran', flush=True)\n");
  printf("second finalize rc=%d; old daemon: %s\n", Py_FinalizeEx(), thread_fate(tid));
  return 0;
}
/* L: capacity of Py_AddPendingCall's queue when nothing runs it. */
static int s_pending_capacity(void) {
  Py_Initialize();
  int n = 0;
  while (n < 1000 && Py_AddPendingCall(quiet_cb, NULL) == 0) n++;
  printf("accepted %d pending calls\n", n);
  printf("finalize rc=%d\n", Py_FinalizeEx());
  return 0;
}
/* M: start a thread and fork from an atexit callback (F5). */
static int s_atexit_thread_and_fork(void) {
  Py_Initialize();
  PyRun_SimpleString(
      "import atexit, threading, os\n"
      "def h():\n"
      "    try:\n"
      "        t = threading.Thread(target=lambda: None); t.start(); t.join(); print('atexit: thread ok', flush=True)\n"
      "    except BaseException as e:\n"
      "        print('atexit: thread', type(e).__name__, e, flush=True)\n"
      "    try:\n"
      "        pid = os.fork()\n"
      "        if pid == 0: os._exit(0)\n"
      "        os.waitpid(pid, 0); print('atexit: fork ok', flush=True)\n"
      "    except BaseException as e:\n"
      "        print('atexit: fork', type(e).__name__, e, flush=True)\n"
      "atexit.register(h)\n");
  printf("finalize rc=%d\n", Py_FinalizeEx());
  return 0;
}
/* O: joining a running daemon thread from a finalizer during shutdown (gh-130402). */
static int s_join_daemon_at_shutdown(void) {
  Py_Initialize();
  PyRun_SimpleString(
      "import threading, time, sys\n"
      "ev = threading.Event()\n"
      "t = threading.Thread(target=ev.wait, daemon=True); t.start()\n"
      "class J:\n"
      "    def __del__(self):\n"
      "        try:\n"
      "            t.join(); sys.stdout.write('join returned\\n')\n"
      "        except BaseException as e:\n"
      "            sys.stdout.write('join raised %s: %s\\n' % (type(e).__name__, e))\n"
      "        sys.stdout.flush()\n"
      "j = J()\n");
  printf("finalize rc=%d\n", Py_FinalizeEx());
  return 0;
}
/* P: a pending call queued by a C thread while the main thread finalizes (P6 race). */
static volatile int stop_adder;
static void *adder(void *arg) {
  int *accepted = arg;
  while (!stop_adder) { if (Py_AddPendingCall(quiet_cb, NULL) == 0) (*accepted)++; usleep(50); }
  return NULL;
}
static int s_add_pending_racing_finalize(void) {
  Py_Initialize();
  static int accepted;
  pthread_t th;
  pthread_create(&th, NULL, adder, &accepted);
  usleep(20000);
  int rc = Py_FinalizeEx();
  usleep(20000);
  stop_adder = 1;
  pthread_join(th, NULL);
  printf("finalize rc=%d accepted=%d (no crash)\n", rc, accepted);
  return 0;
}
#if PY_VERSION_HEX >= 0x030F0000
/* Q (3.15, PEP 788): a guard held by a C thread delays Py_FinalizeEx; views after finalisation. */
static PyInterpreterView *g_view;
static void *guard_thread(void *arg) {
  (void)arg;
  PyInterpreterGuard *g = PyInterpreterGuard_FromView(g_view);
  say(g ? "guard thread: got a guard\n" : "guard thread: no guard\n");
  usleep(300000);
  say("guard thread: closing the guard\n");
  if (g) PyInterpreterGuard_Close(g);
  return NULL;
}
static int s_pep788_guard_delays_finalize(void) {
  Py_Initialize();
  g_view = PyInterpreterView_FromCurrent();
  pthread_t th;
  PyThreadState *save = PyEval_SaveThread();
  pthread_create(&th, NULL, guard_thread, NULL);
  usleep(50000);
  PyEval_RestoreThread(save);
  say("main: calling Py_FinalizeEx\n");
  int rc = Py_FinalizeEx();
  printf("main: Py_FinalizeEx returned rc=%d\n", rc);
  fflush(stdout);
  pthread_join(th, NULL);
  PyInterpreterGuard *late = PyInterpreterGuard_FromView(g_view);
  printf("guard after finalize: %s\n", late ? "granted" : "NULL (refused)");
  PyThreadStateToken *tok = PyThreadState_EnsureFromView(g_view);
  printf("PyThreadState_EnsureFromView after finalize: %s\n", tok ? "granted" : "NULL (refused)");
  PyInterpreterView_Close(g_view);
  return 0;
}
#endif

struct scenario { const char *name; int (*fn)(void); };
static const struct scenario kScenarios[] = {
  {"daemon_after_finalize", s_daemon_after_finalize},
  {"c_thread_restore_after_finalize", s_c_thread_restore_after_finalize},
  {"end_interp_second_tstate", s_end_interp_second_tstate},
  {"end_interp_daemon", s_end_interp_daemon},
  {"end_interp_nondaemon", s_end_interp_nondaemon},
  {"finalize_subinterp", s_finalize_subinterp},
  {"finalize_subinterp_daemon", s_finalize_subinterp_daemon},
  {"finalize_subinterp_extra_tstate", s_finalize_subinterp_extra_tstate},
  {"finalize_subinterp_nondaemon", s_finalize_subinterp_nondaemon},
  {"gh134144", s_gh134144},
  {"new_tstate_after_initial_deleted", s_new_tstate_after_initial_deleted},
  {"add_pending_after_finalize", s_add_pending_after_finalize},
  {"pending_fail_then_noop_at_finalize", s_pending_fail_then_noop_at_finalize},
  {"gilstate_after_finalize", s_gilstate_after_finalize},
  {"fork_with_live_subinterp", s_fork_with_live_subinterp},
  {"fork_from_subinterp", s_fork_from_subinterp},
  {"finalize_from_subinterp", s_finalize_from_subinterp},
  {"reinit_with_daemon", s_reinit_with_daemon},
  {"pending_capacity", s_pending_capacity},
  {"atexit_thread_and_fork", s_atexit_thread_and_fork},
  {"join_daemon_at_shutdown", s_join_daemon_at_shutdown},
  {"add_pending_racing_finalize", s_add_pending_racing_finalize},
#if PY_VERSION_HEX >= 0x030F0000
  {"pep788_guard_delays_finalize", s_pep788_guard_delays_finalize},
#endif
};

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  size_t n = sizeof kScenarios / sizeof kScenarios[0];
  if (argc == 2 && strcmp(argv[1], "list") == 0) {
    for (size_t i = 0; i < n; i++) printf("%s\n", kScenarios[i].name);
    return 0;
  }
  for (size_t i = 0; argc == 2 && i < n; i++)
    if (strcmp(argv[1], kScenarios[i].name) == 0) return kScenarios[i].fn();
  fprintf(stderr, "usage: %s list|SCENARIO\n", argv[0]);
  return 2;
}
