// Argument unpacking for kernels: typed arrays become raw pointers after their length is checked,
// and any mismatch becomes a JS error naming the kernel and the argument.
#pragma once
#include <node_api.h>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace gptune {

struct ArgError : std::runtime_error { using std::runtime_error::runtime_error; };

class Args {
 public:
  static constexpr size_t kMax = 24;
  Args(napi_env env, napi_callback_info info, const char* kernel) : env_(env), kernel_(kernel) {
    argc_ = kMax;
    napi_get_cb_info(env, info, &argc_, argv_, nullptr, nullptr);
  }
  napi_env env() const { return env_; }

  // Float32Array argument with at least min_len elements.
  float* f32(size_t i, const char* name, size_t min_len) { return typed<float>(i, name, min_len, napi_float32_array, "Float32Array", false); }
  // Uint16Array argument (f16 / bf16 bit patterns read from a checkpoint).
  uint16_t* u16(size_t i, const char* name, size_t min_len) { return typed<uint16_t>(i, name, min_len, napi_uint16_array, "Uint16Array", false); }
  // Uint32Array argument (bf16 pairs packed for the GEMM's kernel).
  uint32_t* u32(size_t i, const char* name, size_t min_len, bool nullable = false) { return typed<uint32_t>(i, name, min_len, napi_uint32_array, "Uint32Array", nullable); }
  // Uint8Array argument (ggml quantized blocks), min_len in bytes.
  uint8_t* u8(size_t i, const char* name, size_t min_len) { return typed<uint8_t>(i, name, min_len, napi_uint8_array, "Uint8Array", false); }
  // Int32Array argument; with nullable, JS null gives nullptr.
  int32_t* i32(size_t i, const char* name, size_t min_len, bool nullable = false) { return typed<int32_t>(i, name, min_len, napi_int32_array, "Int32Array", nullable); }

  // Element count of a Float32Array argument, for bounds that come from a buffer (a table's rows).
  size_t f32_length(size_t i, const char* name) {
    size_t n = 0;
    typed<float>(i, name, 0, napi_float32_array, "Float32Array", false, &n);
    return n;
  }

  int64_t integer(size_t i, const char* name) {
    double d = number(i, name);
    if (d != static_cast<double>(static_cast<int64_t>(d))) fail(name, "must be an integer");
    return static_cast<int64_t>(d);
  }
  // A dimension: an integer >= 0.
  int64_t dim(size_t i, const char* name) {
    int64_t v = integer(i, name);
    if (v < 0) fail(name, "must be >= 0, got " + std::to_string(v));
    return v;
  }
  double number(size_t i, const char* name) {
    double d = 0;
    if (napi_get_value_double(env_, arg(i, name), &d) != napi_ok) fail(name, "must be a number");
    return d;
  }
  bool flag(size_t i, const char* name) {
    bool b = false;
    if (napi_get_value_bool(env_, arg(i, name), &b) != napi_ok) fail(name, "must be a boolean");
    return b;
  }
  // A JS string argument, as UTF-8.
  std::string string(size_t i, const char* name) {
    napi_value v = arg(i, name);
    size_t n = 0;
    if (napi_get_value_string_utf8(env_, v, nullptr, 0, &n) != napi_ok) fail(name, "must be a string");
    std::string s(n, '\0');
    napi_get_value_string_utf8(env_, v, s.data(), n + 1, &n);
    return s;
  }
  // The raw argument, for kernels that take a non-numeric value (an ArrayBuffer).
  napi_value value(size_t i, const char* name) { return arg(i, name); }
  napi_value make_number(double d) { napi_value v; napi_create_double(env_, d, &v); return v; }
  // A new Uint32Array of n elements (zeroed); *data points at its storage.
  napi_value make_u32(size_t n, uint32_t** data) {
    void* p = nullptr;
    napi_value ab, out;
    if (napi_create_arraybuffer(env_, n * 4, &p, &ab) != napi_ok || napi_create_typedarray(env_, napi_uint32_array, n, ab, 0, &out) != napi_ok)
      throw ArgError(std::string(kernel_) + ": could not allocate " + std::to_string(n * 4) + " bytes");
    *data = static_cast<uint32_t*>(p);
    return out;
  }
  napi_value make_string(const char* s) { napi_value v; napi_create_string_utf8(env_, s, NAPI_AUTO_LENGTH, &v); return v; }

  [[noreturn]] void fail(const char* name, const std::string& what) {
    throw ArgError(std::string(kernel_) + ": argument '" + name + "' " + what);
  }

 private:
  napi_value arg(size_t i, const char* name) {
    if (i >= argc_) fail(name, "is missing (argument " + std::to_string(i) + ")");
    return argv_[i];
  }
  template <typename T>
  T* typed(size_t i, const char* name, size_t min_len, napi_typedarray_type want, const char* want_name, bool nullable,
           size_t* length_out = nullptr) {
    napi_value v = arg(i, name);
    napi_valuetype vt;
    napi_typeof(env_, v, &vt);
    if (nullable && (vt == napi_null || vt == napi_undefined)) return nullptr;
    bool is_ta = false;
    napi_is_typedarray(env_, v, &is_ta);
    if (!is_ta) fail(name, std::string("must be a ") + want_name);
    napi_typedarray_type type;
    size_t length = 0;
    void* data = nullptr;
    napi_get_typedarray_info(env_, v, &type, &length, &data, nullptr, nullptr);
    if (type != want) fail(name, std::string("must be a ") + want_name);
    if (length < min_len)
      fail(name, "has " + std::to_string(length) + " elements, needs at least " + std::to_string(min_len));
    if (length_out) *length_out = length;
    return static_cast<T*>(data);
  }
  napi_env env_;
  const char* kernel_;
  size_t argc_;
  napi_value argv_[kMax];
};

}  // namespace gptune
