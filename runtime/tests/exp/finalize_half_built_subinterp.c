/* SPDX-License-Identifier: Apache-2.0
   finalize_half_built_subinterp.c — the [EXP] behind defect finalize_half_built_subinterp:
   a subinterpreter created by another thread while Py_FinalizeEx runs finalize_subinterpreters
   (CPython 3.13). Not built by CMake (it needs a 3.13 install, which the tests must not).

   The creator thread is paused inside new_interpreter() right after PyInterpreterState_New()
   linked the new interpreter (its first raw allocation after the link, _PyConfig_Copy), by a
   raw-domain allocator hook; new_interpreter() has released the creator's GIL by then.
     mode A: the creator stays paused: Py_FinalizeEx meets an interpreter with no GIL yet.
     mode B: the creator resumes once finalizing is set (the main thread's first allocation with
             Py_IsFinalizing()); the main thread waits for it to exit (its TSD destructor runs
             in pthread_exit) or 2 s, then finalisation goes on.
   Build and run (pyenv's 3.13.0, or any 3.13 prefix):
     cc finalize_half_built_subinterp.c -o half $(python3.13-config --includes --ldflags --embed) \
        -Wl,-rpath,$(python3.13-config --prefix)/lib -lpthread
     ./half A own; ./half A shared; ./half B own; ./half B shared
   Observed on 3.13.0 (gdb backtraces): all four die of SIGSEGV.
     A: finalize_subinterpreters -> _PyThreadState_Attach -> take_gil: interp->ceval.gil is NULL.
     B: the creator exits in take_gil (PyThread_exit_thread, called from
        init_interp_create_gil -> _PyEval_InitGIL -> _PyThreadState_Attach); the finalizer then
        runs Py_EndInterpreter on the half-built interpreter: wait_for_thread_shutdown ->
        PyErr_FormatUnraisable -> PyStructSequence_New reads a NULL dict.
   3.13.15's sources (finalize_subinterpreters, _PyInterpreterState_New, new_threadstate) have
   no check either. */
#include <Python.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static PyMemAllocatorEx orig;
static pthread_t creator;
static volatile int armed, released, mode_b, own_gil, skip;
static sem_t paused, go, exited;
static pthread_key_t key;

static void maybe_pause(void) {
  if (!armed) return;
  if (pthread_equal(pthread_self(), creator)) {
    PyInterpreterState *h = PyInterpreterState_Head();
    if (h != NULL && h != PyInterpreterState_Main()) {
      if (skip > 0) { skip--; return; }
      armed = 0;
      sem_post(&paused);
      sem_wait(&go);
      fprintf(stderr, "[creator] resumed\n");
    }
  }
}
static void maybe_release(void) {
  if (mode_b && !released && !pthread_equal(pthread_self(), creator) && Py_IsFinalizing()) {
    released = 1;
    fprintf(stderr, "[main] finalizing is set: resuming the creator\n");
    sem_post(&go);
    struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts); ts.tv_sec += 2;
    if (sem_timedwait(&exited, &ts) == 0) fprintf(stderr, "[main] the creator thread exited (pthread_exit)\n");
    else fprintf(stderr, "[main] the creator did not exit within 2 s\n");
  }
}
static void *h_malloc(void *c, size_t n) { maybe_release(); maybe_pause(); return orig.malloc(orig.ctx, n); }
static void *h_calloc(void *c, size_t a, size_t b) { maybe_release(); maybe_pause(); return orig.calloc(orig.ctx, a, b); }
static void *h_realloc(void *c, void *p, size_t n) { return orig.realloc(orig.ctx, p, n); }
static void h_free(void *c, void *p) { orig.free(orig.ctx, p); }
static void on_exit_tsd(void *v) { sem_post(&exited); }

static void *creator_main(void *arg) {
  pthread_setspecific(key, (void *)1);
  PyGILState_STATE g = PyGILState_Ensure();
  PyThreadState *mine = PyThreadState_Get();
  armed = 1;
  PyThreadState *sub = NULL;
  if (own_gil) {
    PyInterpreterConfig cfg = {.use_main_obmalloc = 0, .allow_fork = 0, .allow_exec = 0,
                               .allow_threads = 1, .allow_daemon_threads = 0,
                               .check_multi_interp_extensions = 1,
                               .gil = PyInterpreterConfig_OWN_GIL};
    PyStatus st = Py_NewInterpreterFromConfig(&sub, &cfg);
    fprintf(stderr, "[creator] Py_NewInterpreterFromConfig returned (%s)\n",
            PyStatus_Exception(st) ? st.err_msg : "ok");
  } else {
    sub = Py_NewInterpreter();
    fprintf(stderr, "[creator] Py_NewInterpreter returned %p\n", (void *)sub);
  }
  (void)mine; (void)g;
  return NULL;
}

int main(int argc, char **argv) {
  mode_b = argc > 1 && argv[1][0] == 'B';
  own_gil = !(argc > 2 && strcmp(argv[2], "shared") == 0);
  skip = argc > 3 ? atoi(argv[3]) : 0;
  setvbuf(stderr, NULL, _IONBF, 0);
  alarm(10);
  sem_init(&paused, 0, 0); sem_init(&go, 0, 0); sem_init(&exited, 0, 0);
  pthread_key_create(&key, on_exit_tsd);
  PyMemAllocatorEx hook = {NULL, h_malloc, h_calloc, h_realloc, h_free};
  PyMem_GetAllocator(PYMEM_DOMAIN_RAW, &orig);
  PyMem_SetAllocator(PYMEM_DOMAIN_RAW, &hook);
  Py_Initialize();
  fprintf(stderr, "Python %s, mode %s, %s GIL, pause after %d allocations\n", Py_GetVersion(),
          mode_b ? "B" : "A", own_gil ? "own" : "shared", skip);
  Py_BEGIN_ALLOW_THREADS
  pthread_create(&creator, NULL, creator_main, NULL);
  sem_wait(&paused);
  fprintf(stderr, "[main] creator paused inside new_interpreter; head id %lld\n",
          (long long)PyInterpreterState_GetID(PyInterpreterState_Head()));
  Py_END_ALLOW_THREADS
  fprintf(stderr, "[main] Py_FinalizeEx...\n");
  int rc = Py_FinalizeEx();
  fprintf(stderr, "[main] Py_FinalizeEx returned %d\n", rc);
  return 0;
}
