/* The communicator (see comm.h): MPI when built with it and run by mpirun with several ranks, the
 * one-process communicator otherwise. Each collective tests `mpi` once; the one-process branch is
 * what a single-device run executes. */
#include "dist/comm.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/log.h"
#include "flanvk/flanvk.h"
#include "vk/device.h"

#ifdef FLANVK_HAVE_MPI
#include <mpi.h>
#endif

static fv_dist g_dist = {.rank = 0, .size = 1, .local_rank = 0, .local_size = 1};
static int g_inited;
#ifdef FLANVK_HAVE_MPI
static int g_mpi_inited; /* we called MPI_Init (also for a job of one rank) */
static MPI_Request *g_req; /* the slots of fv_dist_isum_f32, MPI_REQUEST_NULL when idle */
#endif
static size_t g_nreq;

fv_dist *fv_dist_get(void) { return &g_dist; }

#ifdef FLANVK_HAVE_MPI
/* Started by a launcher: Open MPI's mpirun sets OMPI_COMM_WORLD_SIZE, PMIx launchers PMIX_RANK,
 * MPICH's hydra PMI_RANK. Without one we stay alone rather than let MPI_Init make a singleton
 * (slow, and it wants a daemon). */
static int launched(void) {
    return getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
}

static int mpi_fail(int code, const char *call) {
    char s[MPI_MAX_ERROR_STRING];
    int n = 0;
    if (MPI_Error_string(code, s, &n) != MPI_SUCCESS) snprintf(s, sizeof s, "error %d", code);
    return fv_err("%s: %s", call, s);
}
#define MPI_TRY(call)                                  \
    do {                                               \
        int mpi_rc_ = (call);                          \
        if (mpi_rc_ != MPI_SUCCESS) return mpi_fail(mpi_rc_, #call); \
    } while (0)
#endif

int fv_dist_init(void) {
    if (g_inited) return 0;
    g_inited = 1;
#ifdef FLANVK_HAVE_MPI
    if (!launched()) return 0;
    int provided;
    /* FUNNELED: only the thread that called init calls MPI (the trainer's thread) */
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return fv_err("MPI_Init failed: is this mpirun's environment?");
    g_mpi_inited = 1;
    /* errors come back as return codes so each one becomes a message, then MPI_Abort */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_TRY(MPI_Comm_rank(MPI_COMM_WORLD, &g_dist.rank));
    MPI_TRY(MPI_Comm_size(MPI_COMM_WORLD, &g_dist.size));
    MPI_Comm local;
    MPI_TRY(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, g_dist.rank, MPI_INFO_NULL, &local));
    MPI_TRY(MPI_Comm_rank(local, &g_dist.local_rank));
    MPI_TRY(MPI_Comm_size(local, &g_dist.local_size));
    MPI_Comm_free(&local);
    g_dist.mpi = g_dist.size > 1;
#endif
    return 0;
}

void fv_dist_end(int rc) {
#ifdef FLANVK_HAVE_MPI
    if (!g_mpi_inited) return;
    if (rc && g_dist.mpi && !g_dist.agreed_failure) {
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    MPI_Finalize();
    g_mpi_inited = 0;
    free(g_req);
    g_req = NULL;
    g_nreq = 0;
#else
    (void)rc;
#endif
}

const char *fv_dist_build_info(void) {
#ifdef FLANVK_HAVE_MPI
    static char s[512];
    if (!s[0]) {
        char v[MPI_MAX_LIBRARY_VERSION_STRING];
        int n = 0;
        if (MPI_Get_library_version(v, &n) != MPI_SUCCESS) snprintf(v, sizeof v, "MPI");
        v[strcspn(v, ",\n")] = 0; /* "Open MPI v4.1.4, package: ..." -> "Open MPI v4.1.4" */
        snprintf(s, sizeof s, "built with %s: run `mpirun -np N flanvk train ...` for N ranks (one device each)", v);
    }
    return s;
#else
    return "built without MPI: for training on several devices or machines install Open MPI "
           "(Debian: libopenmpi-dev openmpi-bin) and rebuild (cmake -DFLANVK_MPI=ON)";
#endif
}

int fv_dist_sum_f64(double *x, size_t n) {
    (void)x; /* used only with MPI */
    if (!g_dist.mpi || !n) return 0;
#ifdef FLANVK_HAVE_MPI
    MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
#endif
    return 0;
}

int fv_dist_sum_f32(float *x, size_t n) {
    (void)x; /* used only with MPI */
    if (!g_dist.mpi || !n) return 0;
#ifdef FLANVK_HAVE_MPI
    MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, x, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD));
#endif
    return 0;
}

int fv_dist_slots(size_t n) {
    if (n < FV_DIST_SLOTS) n = FV_DIST_SLOTS;
    if (!g_dist.mpi || n <= g_nreq) return 0;
#ifdef FLANVK_HAVE_MPI
    MPI_Request *v = realloc(g_req, n * sizeof *v);
    if (!v) return fv_err("out of host memory for %zu MPI requests", n);
    for (size_t i = g_nreq; i < n; i++) v[i] = MPI_REQUEST_NULL;
    g_req = v;
    g_nreq = n;
#endif
    return 0;
}

int fv_dist_isum_f32(float *x, size_t n, int slot) {
    if (!g_dist.mpi || !n) return 0;
#ifdef FLANVK_HAVE_MPI
    FV_TRY(fv_dist_slots((size_t)slot + 1));
    MPI_TRY(MPI_Iallreduce(MPI_IN_PLACE, x, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &g_req[slot]));
#else
    (void)x;
    (void)slot;
#endif
    return 0;
}

int fv_dist_wait(int slot) {
    if (!g_dist.mpi || (size_t)slot >= g_nreq) return 0;
#ifdef FLANVK_HAVE_MPI
    double t0 = MPI_Wtime();
    MPI_TRY(MPI_Wait(&g_req[slot], MPI_STATUS_IGNORE));
    g_dist.wait_s += MPI_Wtime() - t0;
#endif
    return 0;
}

int fv_dist_progress(void) {
    if (!g_dist.mpi || !g_nreq) return 0;
#ifdef FLANVK_HAVE_MPI
    int done; /* completed sums stay in their slots until waited for: MPI_Testall frees none unless all are done */
    MPI_TRY(MPI_Testall((int)g_nreq, g_req, &done, MPI_STATUSES_IGNORE));
#endif
    return 0;
}

int fv_dist_any(int flag, int *out) {
    *out = flag != 0;
    if (!g_dist.mpi) return 0;
#ifdef FLANVK_HAVE_MPI
    MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, out, 1, MPI_INT, MPI_LOR, MPI_COMM_WORLD));
#endif
    return 0;
}

int fv_dist_same_u64(uint64_t v, int *same) {
    (void)v; /* used only with MPI */
    *same = 1;
    if (!g_dist.mpi) return 0;
#ifdef FLANVK_HAVE_MPI
    uint64_t lo = v, hi = v;
    MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, &lo, 1, MPI_UINT64_T, MPI_MIN, MPI_COMM_WORLD));
    MPI_TRY(MPI_Allreduce(MPI_IN_PLACE, &hi, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD));
    *same = lo == hi;
#endif
    return 0;
}

int fv_dist_bcast(void *buf, size_t bytes, int root) {
    if (!g_dist.mpi || !bytes) return 0;
#ifdef FLANVK_HAVE_MPI
    MPI_TRY(MPI_Bcast(buf, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD));
#else
    (void)buf;
    (void)root;
#endif
    return 0;
}

int fv_dist_agree(int rc) {
    g_dist.agreed_failure = 0;
    if (!g_dist.mpi) return rc;
#ifdef FLANVK_HAVE_MPI
    /* the lowest failing rank, or size when none failed */
    int first = rc ? g_dist.rank : g_dist.size;
    if (MPI_Allreduce(MPI_IN_PLACE, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) != MPI_SUCCESS)
        return fv_err("MPI_Allreduce failed while agreeing on a failure");
    if (first == g_dist.size) return 0;
    char msg[1024];
    if (g_dist.rank == first) snprintf(msg, sizeof msg, "%s", fv_last_error());
    if (MPI_Bcast(msg, sizeof msg, MPI_CHAR, first, MPI_COMM_WORLD) != MPI_SUCCESS)
        return fv_err("MPI_Bcast failed while agreeing on a failure");
    msg[sizeof msg - 1] = 0;
    g_dist.agreed_failure = 1;
    if (first) return fv_err("rank %d of %d: %s", first, g_dist.size, msg);
    return fv_err("%s", msg);
#else
    return rc;
#endif
}

int fv_dist_reports_error(void) { return g_dist.rank == 0 || !g_dist.agreed_failure; }

void fv_dist_reset_timers(void) {
    g_dist.reduce_s = g_dist.wait_s = g_dist.exposed_s = 0;
    g_dist.reduce_bytes = 0;
}

int fv_dist_pick_device(int requested, int *device) {
    *device = requested;
    if (requested >= 0) return 0;
    const char *e = getenv("FLANVK_DEVICE");
    if ((e && *e) || g_dist.size == 1) {
        *device = -1; /* the usual default: FLANVK_DEVICE, else the preferred device */
        return 0;
    }
    /* several ranks: spread this machine's ranks over its devices of the preferred kind (a GPU box
     * with lavapipe installed too keeps its ranks on the GPUs) */
    flanvk_device_info info[16];
    uint32_t n = 0;
    FV_TRY(fv_device_list(info, 16, &n));
    if (!n) return fv_err("no Vulkan device found");
    int best = -1;
    uint32_t idx[16], k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (info[i].rank > best) best = info[i].rank;
    for (uint32_t i = 0; i < n; i++)
        if (info[i].rank == best) idx[k++] = i;
    *device = (int)idx[g_dist.local_rank % (int)k];
    return 0;
}
