// The MPI binding (build/Release/gptune_mpi.node), built only where MPI is found (binding.gyp):
// the few collectives data-parallel training needs, on MPI_COMM_WORLD.
#include <mpi.h>
#include <vector>
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
// Nonblocking sum, in place (MPI_Iallreduce): returns a request id for wait. The caller keeps buf
// alive and untouched until then; gradient buckets start this during backward to overlap it.
struct Pending { MPI_Request req = MPI_REQUEST_NULL; bool done = false; };
static std::vector<Pending> pending;  // indexed by request id; a slot is free when !req and !done
GPTUNE_KERNEL(iallreduceSum) {
  size_t n = args.f32_length(0, "buf");
  float* buf = args.f32(0, "buf", n);
  if (n > static_cast<size_t>(INT32_MAX)) args.fail("buf", "is longer than MPI's int count");
  size_t id = 0;
  while (id < pending.size() && (pending[id].req != MPI_REQUEST_NULL || pending[id].done)) id++;
  if (id == pending.size()) pending.emplace_back();
  check(args, MPI_Iallreduce(MPI_IN_PLACE, buf, static_cast<int>(n), MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD, &pending[id].req), "MPI_Iallreduce");
  result = args.make_number(static_cast<double>(id));
}
// Blocks until request id is done (its buffer then holds the sum), and frees the id.
GPTUNE_KERNEL(wait) {
  int64_t id = args.integer(0, "id");
  if (id < 0 || static_cast<size_t>(id) >= pending.size() || (pending[id].req == MPI_REQUEST_NULL && !pending[id].done)) args.fail("id", "is not a pending request");
  Pending& p = pending[id];
  if (!p.done) check(args, MPI_Wait(&p.req, MPI_STATUS_IGNORE), "MPI_Wait");
  p = Pending{};
}
// Lets pending requests advance: Open MPI moves nonblocking collectives along only inside MPI calls
// (no progress thread), so backward calls this between ops. Returns how many are still running.
GPTUNE_KERNEL(progress) {
  int running = 0;
  for (Pending& p : pending) {
    if (p.req == MPI_REQUEST_NULL) continue;
    int flag = 0;
    check(args, MPI_Test(&p.req, &flag, MPI_STATUS_IGNORE), "MPI_Test");
    if (flag) p.done = true; else running++;
  }
  result = args.make_number(running);
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
