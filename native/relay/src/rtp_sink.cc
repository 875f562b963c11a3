// bench:cluster's load generator's receive path (bench/cluster/cheapMedia.ts documents it): a participant's
// UDP socket read with recvmmsg from here instead of through Node's dgram (which allocates, resizes and
// wraps a buffer and calls into JavaScript for every datagram), every socket of the process at once when
// JavaScript calls pollAll() from its timer (no wake-up per socket that becomes readable). An RTP packet
// of a stream the bench has tied to its sender is not decrypted: its SSRC and sequence number (in clear
// under SRTP) are counted here against a native publisher's counter (rtp_count.cc), or queued for `take()`. The node's SRTCP made of reports only is authenticated and decrypted here once the sink is
// keyed (rtcp_in.cc: its sender reports noted for the participant's receiver reports). Anything else (STUN,
// DTLS, other RTCP such as keyframe requests, RTP of a stream not tied yet) goes to the JavaScript callback
// with its source address, i.e. to werift as dgram would have handed it over. Not part of the servers.
#include <arpa/inet.h>
#include <errno.h>
#include <node_api.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <vector>

#include "rtcp_in.h"
#include "rtp_count.h"
#include "rtp_gen.h"

namespace {

constexpr int kBatch = 32;
constexpr size_t kDatagram = 2048;

#define CHECK(call)                        \
  do {                                     \
    if ((call) != napi_ok) return nullptr; \
  } while (0)

struct Sink {
  int fd = -1;
  uint32_t id = 0;
  napi_env env = nullptr;
  napi_ref onOther = nullptr;
  /** Every received SSRC's counts; tied streams counted here or queued (rtp_count.h). */
  Counting counting;
  /** The native publishers' stats the tied streams read "sent so far" from, kept alive. */
  std::vector<napi_ref> senders;
  /** The node's SRTCP, once keyed (srtcp()): reports handled here, the rest to the callback. */
  RtcpIn rtcp;
  bool closed = false;
};

/** Headers counted since the last take(), all sinks: sink id, SSRC, sequence number. */
std::vector<uint32_t> queued;
/** The open sinks, read by pollAll(). */
std::vector<Sink*> open;
uint32_t nextId = 1;
uint8_t buffers[kBatch][kDatagram];
sockaddr_storage addresses[kBatch];

bool isRtcp(const uint8_t* b, size_t length) {
  return length >= 8 && (b[0] >> 6) == 2 && b[1] >= 192 && b[1] <= 223;
}

double unixMs() {
  timespec t;
  clock_gettime(CLOCK_REALTIME, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/** An RTP datagram's SSRC and sequence number (RFC 7983 first byte, RFC 5761 payload type). */
bool isRtp(const uint8_t* b, size_t length, uint32_t* ssrc, uint16_t* seq) {
  if (length < 12 || (b[0] >> 6) != 2 || (b[1] >= 192 && b[1] <= 223)) return false;
  *ssrc = (uint32_t(b[8]) << 24) | (uint32_t(b[9]) << 16) | (uint32_t(b[10]) << 8) | b[11];
  *seq = static_cast<uint16_t>((b[2] << 8) | b[3]);
  return true;
}

void deliver(Sink* sink, const uint8_t* data, size_t length, const sockaddr_storage& from) {
  napi_env env = sink->env;
  char text[INET6_ADDRSTRLEN] = "";
  uint16_t port = 0;
  if (from.ss_family == AF_INET) {
    auto* in = reinterpret_cast<const sockaddr_in*>(&from);
    inet_ntop(AF_INET, &in->sin_addr, text, sizeof text);
    port = ntohs(in->sin_port);
  } else if (from.ss_family == AF_INET6) {
    auto* in6 = reinterpret_cast<const sockaddr_in6*>(&from);
    inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text);
    port = ntohs(in6->sin6_port);
  }
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value argv[3], fn, global, result;
  void* copy;
  if (napi_create_buffer_copy(env, length, data, &copy, &argv[0]) == napi_ok) {
    napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &argv[1]);
    napi_create_uint32(env, port, &argv[2]);
    napi_get_reference_value(env, sink->onOther, &fn);
    napi_get_global(env, &global);
    if (napi_call_function(env, global, fn, 3, argv, &result) == napi_pending_exception) {
      napi_value ignored;
      napi_get_and_clear_last_exception(env, &ignored);  // the callback's own problem; keep reading
    }
  }
  napi_close_handle_scope(env, scope);
}

/** Reads `sink`'s socket until it is empty: tied RTP counted or queued, the rest to the callback. */
void readAll(Sink* sink) {
  mmsghdr messages[kBatch];
  iovec vectors[kBatch];
  for (;;) {
    for (int i = 0; i < kBatch; i++) {
      vectors[i] = {buffers[i], kDatagram};
      memset(&messages[i], 0, sizeof messages[i]);
      messages[i].msg_hdr.msg_iov = &vectors[i];
      messages[i].msg_hdr.msg_iovlen = 1;
      messages[i].msg_hdr.msg_name = &addresses[i];
      messages[i].msg_hdr.msg_namelen = sizeof addresses[i];
    }
    int n = recvmmsg(sink->fd, messages, kBatch, MSG_DONTWAIT, nullptr);
    if (n <= 0) break;
    for (int i = 0; i < n; i++) {
      const uint8_t* b = buffers[i];
      size_t length = messages[i].msg_len;
      uint32_t ssrc;
      uint16_t seq;
      if (isRtcp(b, length)) {
        if (handleRtcp(&sink->rtcp, b, length, unixMs())) continue;
      } else if (isRtp(b, length, &ssrc, &seq)) {
        CountedStream* stream = streamOf(&sink->counting, ssrc);
        bool queue = stream->mode == CountedStream::kQueued;
        if (countHeader(&sink->counting, stream, seq)) continue;
        if (queue) {
          queued.push_back(sink->id);
          queued.push_back(ssrc);
          queued.push_back(seq);
          continue;
        }
      }
      deliver(sink, b, length, addresses[i]);
      if (sink->closed) return;  // the callback closed the sink
    }
    if (n < kBatch) break;
  }
}

/** pollAll(): reads every open sink's socket (from JavaScript: handle scope and callbacks are at hand). */
napi_value pollAll(napi_env, napi_callback_info) {
  for (size_t i = 0; i < open.size(); i++) {
    Sink* sink = open[i];
    if (!sink->closed) readAll(sink);
  }
  return nullptr;
}

void stop(Sink* sink) {
  if (sink->closed) return;
  sink->closed = true;
  for (size_t i = 0; i < open.size(); i++) {
    if (open[i] == sink) {
      open.erase(open.begin() + i);
      break;
    }
  }
  close(sink->fd);
  sink->fd = -1;
}

void finalize(napi_env env, void* data, void*) {
  auto* sink = static_cast<Sink*>(data);
  if (sink->onOther) napi_delete_reference(env, sink->onOther);
  for (napi_ref ref : sink->senders) napi_delete_reference(env, ref);
  stop(sink);
  freeRtcpIn(&sink->rtcp);
  delete sink;
}

Sink* unwrap(napi_env env, napi_callback_info info, size_t* argc, napi_value* argv) {
  napi_value self;
  void* data = nullptr;
  if (napi_get_cb_info(env, info, argc, argv, &self, nullptr) != napi_ok) return nullptr;
  if (napi_unwrap(env, self, &data) != napi_ok) return nullptr;
  return static_cast<Sink*>(data);
}

/** new RtpSink(fd, onOther(data, address, port)): a dup of `fd`, read by pollAll(). The caller has
 *  stopped Node's own reading of the socket (its handle's recvStop). */
napi_value construct(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, nullptr));
  int32_t fd = -1;
  CHECK(napi_get_value_int32(env, argv[0], &fd));
  auto* sink = new Sink();
  sink->env = env;
  sink->id = nextId++;
  sink->fd = dup(fd);
  if (sink->fd < 0) {
    delete sink;
    napi_throw_error(env, nullptr, "RtpSink: cannot duplicate the socket");
    return nullptr;
  }
  CHECK(napi_create_reference(env, argv[1], 1, &sink->onOther));
  CHECK(napi_wrap(env, self, sink, finalize, nullptr, nullptr));
  open.push_back(sink);
  napi_value id;
  CHECK(napi_create_uint32(env, sink->id, &id));
  CHECK(napi_set_named_property(env, self, "id", id));
  return self;
}

/** tie(ssrc, true): that stream's headers are queued for take(); tie(ssrc, false): to the callback again. */
napi_value tie(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Sink* sink = unwrap(env, info, &argc, argv);
  if (!sink) return nullptr;
  uint32_t ssrc = 0;
  bool on = true;
  napi_get_value_uint32(env, argv[0], &ssrc);
  if (argc > 1) napi_get_value_bool(env, argv[1], &on);
  CountedStream* stream = streamOf(&sink->counting, ssrc);
  stream->mode = on ? CountedStream::kQueued : CountedStream::kUntied;
  return nullptr;
}

/** tieNative(ssrc, offset, stats: Float64Array, at, key, counter): the stream is counted here, against
 *  stats[at] (a native publisher's packets sent so far) into ring `key`; `counter` (decrypted) arrived. */
napi_value tieNative(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  Sink* sink = unwrap(env, info, &argc, argv);
  if (!sink) return nullptr;
  uint32_t ssrc = 0, offset = 0, at = 0, key = 0, counter = 0;
  napi_typedarray_type type;
  size_t length = 0;
  void* data = nullptr;
  if (argc < 6 || napi_get_value_uint32(env, argv[0], &ssrc) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &offset) != napi_ok ||
      napi_get_typedarray_info(env, argv[2], &type, &length, &data, nullptr, nullptr) != napi_ok ||
      type != napi_float64_array || napi_get_value_uint32(env, argv[3], &at) != napi_ok || at >= length ||
      napi_get_value_uint32(env, argv[4], &key) != napi_ok ||
      napi_get_value_uint32(env, argv[5], &counter) != napi_ok) {
    napi_throw_type_error(env, nullptr, "RtpSink.tieNative: ssrc, offset, stats, index, key, counter");
    return nullptr;
  }
  napi_ref ref;
  CHECK(napi_create_reference(env, argv[2], 1, &ref));  // the stats outlive the sink's use of them
  sink->senders.push_back(ref);
  tieNative(&sink->counting, streamOf(&sink->counting, ssrc), static_cast<uint16_t>(offset),
            static_cast<const double*>(data) + at, key, counter);
  return nullptr;
}

/** count(key, from, to): how many of the counters in [from, to) of ring `key` arrived. */
napi_value count(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  Sink* sink = unwrap(env, info, &argc, argv);
  if (!sink) return nullptr;
  uint32_t key = 0;
  double from = 0, to = 0;
  napi_get_value_uint32(env, argv[0], &key);
  napi_get_value_double(env, argv[1], &from);
  napi_get_value_double(env, argv[2], &to);
  double n = countRange(&sink->counting, key, from, to);
  if (n < 0) {
    napi_throw_range_error(env, nullptr, "RtpSink.count: a window longer than the ring");
    return nullptr;
  }
  CHECK(napi_create_double(env, n, &out));
  return out;
}

/** Float64Array of `values` (`count` of them). */
napi_value doubles(napi_env env, const double* values, size_t count) {
  void* data = nullptr;
  napi_value buffer, out;
  CHECK(napi_create_arraybuffer(env, count * sizeof(double), &data, &buffer));
  memcpy(data, values, count * sizeof(double));
  CHECK(napi_create_typedarray(env, napi_float64_array, count, buffer, 0, &out));
  return out;
}

/** receptions(): [headers counted here, unmapped ones], then [ssrc, base, highest, received] per SSRC
 *  (RFC 3550 A.3, the highest extended across wraps). */
napi_value receptions(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sink* sink = unwrap(env, info, &argc, nullptr);
  if (!sink) return nullptr;
  std::vector<double> values = {sink->counting.counted, sink->counting.unmapped};
  for (const auto& s : sink->counting.streams) {
    if (s.received == 0) continue;
    values.insert(values.end(), {double(s.ssrc), double(s.base), double(s.highest), s.received});
  }
  return doubles(env, values.data(), values.size());
}

/** srtcp(key, salt): the node's SRTCP (its remote session key and salt) is handled here from now on. */
napi_value srtcp(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Sink* sink = unwrap(env, info, &argc, argv);
  if (!sink) return nullptr;
  void *key = nullptr, *salt = nullptr;
  size_t keyLength = 0, saltLength = 0;
  if (argc < 2 || napi_get_buffer_info(env, argv[0], &key, &keyLength) != napi_ok ||
      napi_get_buffer_info(env, argv[1], &salt, &saltLength) != napi_ok || keyLength != 16 || saltLength < 12 ||
      !keyRtcpIn(&sink->rtcp, static_cast<uint8_t*>(key), static_cast<uint8_t*>(salt))) {
    napi_throw_type_error(env, nullptr, "RtpSink.srtcp: a 16-byte key and a 12-byte salt OpenSSL takes");
  }
  return nullptr;
}

/** senderReports(): Float64Array of [handled compounds, failed ones], then per SSRC [ssrc, LSR, arrival
 *  Unix ms] of the last sender report the node sent. */
napi_value senderReports(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sink* sink = unwrap(env, info, &argc, nullptr);
  if (!sink) return nullptr;
  std::vector<double> values = {sink->rtcp.handled, sink->rtcp.failed};
  for (const auto& seen : sink->rtcp.reports)
    values.insert(values.end(), {double(seen.ssrc), double(seen.lsr), seen.arrivalUnixMs});
  return doubles(env, values.data(), values.size());
}

napi_value closeMethod(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  Sink* sink = unwrap(env, info, &argc, nullptr);
  if (sink) stop(sink);
  return nullptr;
}

/** take(): the queued headers since the last call, as a Buffer of uint32 triples (sink id, SSRC, seq). */
napi_value take(napi_env env, napi_callback_info) {
  napi_value out;
  void* data;
  size_t bytes = queued.size() * sizeof(uint32_t);
  if (bytes == 0) {
    CHECK(napi_create_buffer(env, 0, &data, &out));
    return out;
  }
  CHECK(napi_create_buffer_copy(env, bytes, queued.data(), &data, &out));
  queued.clear();
  return out;
}

}  // namespace

bool sinkState(napi_env env, napi_value value, Counting** counting, RtcpIn** rtcp) {
  void* data = nullptr;
  if (napi_unwrap(env, value, &data) != napi_ok || data == nullptr) return false;
  auto* sink = static_cast<Sink*>(data);
  *counting = &sink->counting;
  *rtcp = &sink->rtcp;
  return true;
}

namespace {

constexpr int32_t kAbiVersion = 6;

napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"tie", nullptr, tie, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"close", nullptr, closeMethod, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"srtcp", nullptr, srtcp, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"tieNative", nullptr, tieNative, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"count", nullptr, count, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"receptions", nullptr, receptions, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"senderReports", nullptr, senderReports, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_value cls, takeFn, pollFn, version;
  CHECK(napi_define_class(env, "RtpSink", NAPI_AUTO_LENGTH, construct, nullptr, 7, methods, &cls));
  CHECK(napi_set_named_property(env, exports, "RtpSink", cls));
  CHECK(napi_create_function(env, "take", NAPI_AUTO_LENGTH, take, nullptr, &takeFn));
  CHECK(napi_set_named_property(env, exports, "take", takeFn));
  CHECK(napi_create_function(env, "pollAll", NAPI_AUTO_LENGTH, pollAll, nullptr, &pollFn));
  CHECK(napi_set_named_property(env, exports, "pollAll", pollFn));
  CHECK(napi_create_int32(env, kAbiVersion, &version));
  CHECK(napi_set_named_property(env, exports, "abiVersion", version));
  if (!registerPublisher(env, exports)) return nullptr;
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
