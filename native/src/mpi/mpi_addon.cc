// The MPI binding (build/Release/gptune_mpi.node), built only where MPI is found (binding.gyp):
// the few collectives data-parallel training needs, on MPI_COMM_WORLD.
#include <mpi.h>
#include "../registry.h"

namespace gptune {

static void check(Args& args, int rc, const char* what) {
  if (rc == MPI_SUCCESS) return;
  char msg[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, msg, &len);
  args.fail(what, std::string(msg, len));
}

// MPI_Init once; later calls are no-ops (a library user may call init twice).
GPTUNE_KERNEL(init) {
  int done = 0;
  MPI_Initialized(&done);
  if (!done) check(args, MPI_Init(nullptr, nullptr), "MPI_Init");
}
GPTUNE_KERNEL(rank) {
  int r = 0;
  check(args, MPI_Comm_rank(MPI_COMM_WORLD, &r), "MPI_Comm_rank");
  result = args.make_number(r);
}
GPTUNE_KERNEL(size) {
  int n = 0;
  check(args, MPI_Comm_size(MPI_COMM_WORLD, &n), "MPI_Comm_size");
  result = args.make_number(n);
}
// Sums a Float32Array over all ranks, in place: every rank ends with the same sum.
GPTUNE_KERNEL(allreduceSum) {
  size_t n = args.f32_length(0, "buf");
  float* buf = args.f32(0, "buf", n);
  if (n > static_cast<size_t>(INT32_MAX)) args.fail("buf", "is longer than MPI's int count");
  check(args, MPI_Allreduce(MPI_IN_PLACE, buf, static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD), "MPI_Allreduce");
}
GPTUNE_KERNEL(barrier) { check(args, MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); }
GPTUNE_KERNEL(finalize) {
  int inited = 0, done = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&done);
  if (inited && !done) check(args, MPI_Finalize(), "MPI_Finalize");
}
// Ends every rank of the job (a rank that failed must not leave the others waiting in a collective).
GPTUNE_KERNEL(abort) {
  int code = static_cast<int>(args.integer(0, "code"));
  MPI_Abort(MPI_COMM_WORLD, code);
}

static napi_value Init(napi_env env, napi_value exports) { return export_kernels(env, exports); }

}  // namespace gptune

NAPI_MODULE(NODE_GYP_MODULE_NAME, gptune::Init)
