// Kernels register themselves by name at static-init time, so each kernel file stands alone:
// addon.cc exports whatever is registered, and src/backend/native/binding.ts types it.
#pragma once
#include "napi_args.h"
#include <vector>

namespace gptune {

using KernelFn = napi_value (*)(napi_env, napi_callback_info);
struct KernelEntry { const char* name; KernelFn fn; };
// One table per addon (each .node is its own shared object, so each gets its own copy).
inline std::vector<KernelEntry>& kernel_table() {
  static std::vector<KernelEntry> table;
  return table;
}
struct KernelRegistrar {
  KernelRegistrar(const char* name, KernelFn fn) { kernel_table().push_back({name, fn}); }
};

// An addon's Init: every registered kernel becomes a function on exports.
inline napi_value export_kernels(napi_env env, napi_value exports) {
  for (const KernelEntry& k : kernel_table()) {
    napi_value fn;
    napi_create_function(env, k.name, NAPI_AUTO_LENGTH, k.fn, nullptr, &fn);
    napi_set_named_property(env, exports, k.name, fn);
  }
  return exports;
}

}  // namespace gptune

// Defines a JS-callable kernel `name`; the body sees `Args& args` and may throw ArgError.
// It returns nothing to JS unless it sets `result` (e.g. with args.number(x)).
#define GPTUNE_KERNEL(name)                                                              \
  static void name##_body(gptune::Args& args, napi_value& result);                       \
  static napi_value name##_entry(napi_env env, napi_callback_info info) {                \
    napi_value result = nullptr;                                                         \
    try {                                                                                \
      gptune::Args args(env, info, #name);                                               \
      name##_body(args, result);                                                         \
    } catch (const std::exception& e) {                                                  \
      napi_throw_error(env, "GPTUNE_NATIVE", e.what());                                  \
      return nullptr;                                                                    \
    }                                                                                    \
    return result;                                                                       \
  }                                                                                      \
  static gptune::KernelRegistrar name##_registrar(#name, name##_entry);                  \
  static void name##_body(gptune::Args& args, napi_value& result)
