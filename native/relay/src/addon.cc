// N-API binding of the ChannelData fast path (relay.h). Node-API only, so one build serves Node 20 and 22.
// The TypeScript side is src/proxy/fastPath/addon.ts, which documents each method.
#include <arpa/inet.h>
#include <node_api.h>
#include <string.h>

#include <string>

#include "relay.h"

namespace {

using pinhole::Engine;

#define CHECK(call)                                   \
  do {                                                \
    if ((call) != napi_ok) return nullptr;            \
  } while (0)

struct Binding {
  napi_env env = nullptr;
  napi_ref self = nullptr;
  napi_ref onPackets = nullptr;
  napi_async_context async = nullptr;
  Engine* engine = nullptr;
};

const size_t kMaxArgs = 6;

struct Args {
  napi_value argv[kMaxArgs];
  size_t argc = kMaxArgs;
  Binding* binding = nullptr;
};

bool getArgs(napi_env env, napi_callback_info info, Args* args, size_t needed) {
  napi_value self;
  if (napi_get_cb_info(env, info, &args->argc, args->argv, &self, nullptr) != napi_ok) return false;
  if (args->argc < needed) {
    napi_throw_type_error(env, nullptr, "pinhole_relay: too few arguments");
    return false;
  }
  void* data = nullptr;
  if (napi_unwrap(env, self, &data) != napi_ok || data == nullptr) return false;
  args->binding = static_cast<Binding*>(data);
  if (args->binding->engine == nullptr) {
    napi_throw_error(env, "ERR_CLOSED", "pinhole_relay: closed");
    return false;
  }
  return true;
}

double numberArg(napi_env env, napi_value value) {
  double out = 0;
  napi_get_value_double(env, value, &out);
  return out;
}

std::string stringArg(napi_env env, napi_value value) {
  char buffer[64];
  size_t length = 0;
  if (napi_get_value_string_utf8(env, value, buffer, sizeof buffer, &length) != napi_ok) return "";
  return std::string(buffer, length);
}

/** An IP string and port as a sockaddr (IPv4 first, then IPv6); false when the IP does not parse. */
bool toSockaddr(const std::string& ip, int port, sockaddr_storage* out, socklen_t* len) {
  memset(out, 0, sizeof *out);
  auto* in = reinterpret_cast<sockaddr_in*>(out);
  if (inet_pton(AF_INET, ip.c_str(), &in->sin_addr) == 1) {
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(sockaddr_in);
    return true;
  }
  auto* in6 = reinterpret_cast<sockaddr_in6*>(out);
  if (inet_pton(AF_INET6, ip.c_str(), &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    *len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

bool addressArgs(napi_env env, napi_value ip, napi_value port, sockaddr_storage* out, socklen_t* len) {
  if (!toSockaddr(stringArg(env, ip), static_cast<int>(numberArg(env, port)), out, len)) {
    napi_throw_type_error(env, "ERR_INVALID_IP", "pinhole_relay: invalid IP address");
    return false;
  }
  return true;
}

napi_value throwErrno(napi_env env, int64_t negErrno) {
  const char* name = uv_err_name(static_cast<int>(negErrno));
  napi_throw_error(env, name, uv_strerror(static_cast<int>(negErrno)));
  return nullptr;
}

/** [socketId, boundPort] for a freshly opened socket. */
napi_value socketResult(napi_env env, Engine* engine, int64_t id) {
  if (id < 0) return throwErrno(env, id);
  napi_value result;
  napi_value value;
  CHECK(napi_create_array_with_length(env, 2, &result));
  CHECK(napi_create_uint32(env, static_cast<uint32_t>(id), &value));
  CHECK(napi_set_element(env, result, 0, value));
  CHECK(napi_create_int32(env, engine->localPort(static_cast<uint32_t>(id)), &value));
  CHECK(napi_set_element(env, result, 1, value));
  return result;
}

napi_value boolean(napi_env env, bool value) {
  napi_value result;
  napi_get_boolean(env, value, &result);
  return result;
}

napi_value undefined(napi_env env) {
  napi_value result;
  napi_get_undefined(env, &result);
  return result;
}

/** Engine → JS: one call per batch, (socketId, [buffer, address, port, buffer, address, port, ...]). */
void deliver(void* context, uint32_t socketId, const std::vector<pinhole::Unhandled>& packets) {
  auto* binding = static_cast<Binding*>(context);
  napi_env env = binding->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value list;
  napi_create_array_with_length(env, packets.size() * 3, &list);
  uint32_t index = 0;
  for (const auto& packet : packets) {
    napi_value buffer;
    napi_value address;
    napi_value port;
    void* copy;
    napi_create_buffer_copy(env, packet.length, packet.data, &copy, &buffer);
    char text[INET6_ADDRSTRLEN] = "";
    int portNumber = 0;
    if (packet.from->ss_family == AF_INET) {
      const auto* in = reinterpret_cast<const sockaddr_in*>(packet.from);
      inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
      portNumber = ntohs(in->sin_port);
    } else {
      const auto* in6 = reinterpret_cast<const sockaddr_in6*>(packet.from);
      inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
      portNumber = ntohs(in6->sin6_port);
    }
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &address);
    napi_create_int32(env, portNumber, &port);
    napi_set_element(env, list, index++, buffer);
    napi_set_element(env, list, index++, address);
    napi_set_element(env, list, index++, port);
  }
  napi_value self;
  napi_value callback;
  napi_value argv[2];
  napi_create_uint32(env, socketId, &argv[0]);
  argv[1] = list;
  if (napi_get_reference_value(env, binding->self, &self) == napi_ok &&
      napi_get_reference_value(env, binding->onPackets, &callback) == napi_ok) {
    napi_value ignored;
    // make_callback runs microtasks afterwards, as Node does for its own I/O callbacks.
    if (napi_make_callback(env, binding->async, self, callback, 2, argv, &ignored) == napi_pending_exception) {
      napi_value error;
      napi_get_and_clear_last_exception(env, &error);
      napi_fatal_exception(env, error);  // an uncaught exception, as from any other I/O callback
    }
  }
  napi_close_handle_scope(env, scope);
}

void finalize(napi_env env, void* data, void*) {
  auto* binding = static_cast<Binding*>(data);
  delete binding->engine;
  if (binding->onPackets) napi_delete_reference(env, binding->onPackets);
  if (binding->async) napi_async_destroy(env, binding->async);
  delete binding;
}

// new Relay(onPackets)
napi_value construct(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  napi_value self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, nullptr));
  napi_valuetype type = napi_undefined;
  if (argc >= 1) napi_typeof(env, argv[0], &type);
  if (type != napi_function) {
    napi_throw_type_error(env, nullptr, "pinhole_relay: new Relay(onPackets) needs a function");
    return nullptr;
  }
  uv_loop_t* loop;
  CHECK(napi_get_uv_event_loop(env, &loop));
  auto* binding = new Binding();
  binding->env = env;
  binding->engine = new Engine(loop, deliver, binding);
  napi_value name;
  CHECK(napi_create_string_utf8(env, "pinhole_relay", NAPI_AUTO_LENGTH, &name));
  CHECK(napi_async_init(env, self, name, &binding->async));
  CHECK(napi_create_reference(env, argv[0], 1, &binding->onPackets));
  // A weak reference to the wrapper: the engine's callbacks use it as `this`; the finalizer frees all.
  CHECK(napi_wrap(env, self, binding, finalize, nullptr, &binding->self));
  return self;
}

// openListener(host, port, reusePort, bufferBytes) → [id, port]
napi_value openListener(napi_env env, napi_callback_info info) {
  Args a;
  if (!getArgs(env, info, &a, 4)) return nullptr;
  sockaddr_storage addr;
  socklen_t len;
  if (!addressArgs(env, a.argv[0], a.argv[1], &addr, &len)) return nullptr;
  bool reuse = false;
  napi_get_value_bool(env, a.argv[2], &reuse);
  auto id = a.binding->engine->openListener(addr, len, reuse, static_cast<int>(numberArg(env, a.argv[3])));
  return socketResult(env, a.binding->engine, id);
}

// openRelay(host, port, bufferBytes) → [id, port]; throws with code EADDRINUSE when taken
napi_value openRelay(napi_env env, napi_callback_info info) {
  Args a;
  if (!getArgs(env, info, &a, 3)) return nullptr;
  sockaddr_storage addr;
  socklen_t len;
  if (!addressArgs(env, a.argv[0], a.argv[1], &addr, &len)) return nullptr;
  auto id = a.binding->engine->openRelay(addr, len, static_cast<int>(numberArg(env, a.argv[2])));
  return socketResult(env, a.binding->engine, id);
}

// closeSocket(id)
napi_value closeSocket(napi_env env, napi_callback_info info) {
  Args a;
  if (!getArgs(env, info, &a, 1)) return nullptr;
  a.binding->engine->closeSocket(static_cast<uint32_t>(numberArg(env, a.argv[0])));
  return undefined(env);
}

// send(id, data, address, port) → boolean
napi_value send(napi_env env, napi_callback_info info) {
  Args a;
  if (!getArgs(env, info, &a, 4)) return nullptr;
  void* data;
  size_t length;
  if (napi_get_buffer_info(env, a.argv[1], &data, &length) != napi_ok) {
    napi_throw_type_error(env, nullptr, "pinhole_relay: send needs a Buffer");
    return nullptr;
  }
  sockaddr_storage to;
  socklen_t len;
  if (!addressArgs(env, a.argv[2], a.argv[3], &to, &len)) return nullptr;
  bool ok = a.binding->engine->send(static_cast<uint32_t>(numberArg(env, a.argv[0])),
                                    static_cast<const uint8_t*>(data), length, to, len);
  return boolean(env, ok);
}

// allocate(allocationId, bytesPerSecond)
napi_value allocate(napi_env env, napi_callback_info info) {
  Args a;
  if (!getArgs(env, info, &a, 2)) return nullptr;
  a.binding->engine->allocate(static_cast<uint32_t>(numberArg(env, a.argv[0])), numberArg(env, a.argv[1]));
  return undefined(env);
}

// attach(allocationId, relayId, listenerId, clientAddress, clientPort) → boolean
napi_value attach(napi_env env, napi_callback_info info) {
  Args a;
  if (!getArgs(env, info, &a, 5)) return nullptr;
  sockaddr_storage client;
  socklen_t len;
  if (!addressArgs(env, a.argv[3], a.argv[4], &client, &len)) return nullptr;
  bool ok = a.binding->engine->attach(static_cast<uint32_t>(numberArg(env, a.argv[0])),
                                      static_cast<uint32_t>(numberArg(env, a.argv[1])),
                                      static_cast<uint32_t>(numberArg(env, a.argv[2])), client, len);
  return boolean(env, ok);
}

// take(allocationId, bytes) → boolean
napi_value take(napi_env env, napi_callback_info info) {
  Args a;
  if (!getArgs(env, info, &a, 2)) return nullptr;
  bool ok = a.binding->engine->take(static_cast<uint32_t>(numberArg(env, a.argv[0])),
                                    static_cast<size_t>(numberArg(env, a.argv[1])));
  return boolean(env, ok);
}

// setChannel(allocationId, number, peerAddress, peerPort, ttlMs) → boolean (IPv4 peers only)
napi_value setChannel(napi_env env, napi_callback_info info) {
  Args a;
  if (!getArgs(env, info, &a, 5)) return nullptr;
  sockaddr_storage peer;
  socklen_t len;
  if (!addressArgs(env, a.argv[2], a.argv[3], &peer, &len)) return nullptr;
  if (peer.ss_family != AF_INET) return boolean(env, false);
  double ttl = numberArg(env, a.argv[4]);
  bool ok = a.binding->engine->setChannel(static_cast<uint32_t>(numberArg(env, a.argv[0])),
                                          static_cast<uint16_t>(numberArg(env, a.argv[1])),
                                          *reinterpret_cast<sockaddr_in*>(&peer),
                                          ttl > 0 ? static_cast<uint64_t>(ttl) : 0);
  return boolean(env, ok);
}

// removeChannel(allocationId, number)
napi_value removeChannel(napi_env env, napi_callback_info info) {
  Args a;
  if (!getArgs(env, info, &a, 2)) return nullptr;
  a.binding->engine->removeChannel(static_cast<uint32_t>(numberArg(env, a.argv[0])),
                                   static_cast<uint16_t>(numberArg(env, a.argv[1])));
  return undefined(env);
}

// freeAllocation(allocationId): forgets it and closes its relay socket
napi_value freeAllocation(napi_env env, napi_callback_info info) {
  Args a;
  if (!getArgs(env, info, &a, 1)) return nullptr;
  a.binding->engine->freeAllocation(static_cast<uint32_t>(numberArg(env, a.argv[0])));
  return undefined(env);
}

// takeCounters() → number[] (see pinhole::Counter), reset to zero
napi_value takeCounters(napi_env env, napi_callback_info info) {
  Args a;
  if (!getArgs(env, info, &a, 0)) return nullptr;
  double values[pinhole::kCounterCount];
  a.binding->engine->takeCounters(values);
  napi_value result;
  CHECK(napi_create_array_with_length(env, pinhole::kCounterCount, &result));
  for (uint32_t i = 0; i < pinhole::kCounterCount; i++) {
    napi_value value;
    CHECK(napi_create_double(env, values[i], &value));
    CHECK(napi_set_element(env, result, i, value));
  }
  return result;
}

// close(): every socket and allocation; the object is unusable afterwards
napi_value closeAll(napi_env env, napi_callback_info info) {
  Args a;
  if (!getArgs(env, info, &a, 0)) return nullptr;
  a.binding->engine->closeAll();
  return undefined(env);
}

napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"openListener", nullptr, openListener, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"openRelay", nullptr, openRelay, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"closeSocket", nullptr, closeSocket, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"send", nullptr, send, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"allocate", nullptr, allocate, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"attach", nullptr, attach, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"take", nullptr, take, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setChannel", nullptr, setChannel, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"removeChannel", nullptr, removeChannel, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"freeAllocation", nullptr, freeAllocation, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"takeCounters", nullptr, takeCounters, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"close", nullptr, closeAll, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_value cls;
  CHECK(napi_define_class(env, "Relay", NAPI_AUTO_LENGTH, construct, nullptr,
                          sizeof methods / sizeof methods[0], methods, &cls));
  CHECK(napi_set_named_property(env, exports, "Relay", cls));
  napi_value version;
  CHECK(napi_create_uint32(env, 1, &version));
  CHECK(napi_set_named_property(env, exports, "abiVersion", version));
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
