// bench:cluster's load generator's send path (bench/cluster/nativePublisher.ts documents it): a
// participant's synthetic Opus and VP8 built, SRTP-protected (srtp_gcm.h, the conference server's own
// AES-GCM protection) and sent from here, every publisher of the process in one pump() call from the
// generator's timer, a publisher's due packets in one sendmmsg. The payloads are e2e/sfu/media.ts's
// (audioPayload, videoFramePayloads): a marker with the publisher's uid and packet counter that the
// receivers check. Not part of the servers.
#include "rtp_gen.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <vector>

#include "rtcp_out.h"
#include "srtp_gcm.h"
#include "synthetic_payload.h"
#include "udp_address.h"

namespace {

#define CHECK(call)                        \
  do {                                     \
    if ((call) != napi_ok) return nullptr; \
  } while (0)

constexpr size_t kDatagram = 1500;
constexpr size_t kBatch = 16;
using synthetic::kAudioBytes;

/** The Float64Array `stats` both sides read: what JavaScript needs per kind (werift's sender reports,
 *  the receivers' "sent so far"). Audio at 0, video at kVideo. */
enum Stat { kSent = 0, kOctets = 1, kLastRtpTimestamp = 2, kLastSendUnixMs = 3, kLastSequence = 4 };
constexpr int kVideo = 5;
constexpr int kSendErrors = 10;
/** Compounds of reports sent, and ones OpenSSL or the kernel refused. */
constexpr int kReports = 11, kReportErrors = 12;
constexpr int kStats = 13;

struct Stream {
  bool on = false;
  uint32_t ssrc = 0, payloadType = 0, seqOffset = 0, tsOffset = 0, roc = 0;
  double periodMs = 0, next = 0;
  uint32_t sent = 0;
};

struct Publisher {
  int fd = -1;
  sockaddr_storage to{};
  socklen_t toLength = 0;
  EVP_CIPHER_CTX* ctx = nullptr;
  uint8_t salt[srtp_gcm::kIvBytes];
  uint32_t uid = 0, frameBytes = 0, mtu = 0, tsPerFrame = 0, twccId = 0, twccSequence = 0, frame = 0;
  Stream audio, video;
  bool keyframe = true, stopped = false;
  /** The wall clock of the current pump (the sender reports' NTP time of the last packet). */
  double unixMs = 0;
  double* stats = nullptr;
  napi_ref statsRef = nullptr;
  /** The participant's reports (reportWith()): sent from pump() every 0.5–1.5 s, werift's interval. */
  RtcpOut rtcp;
  napi_ref sinkRef = nullptr;
  Counting* counting = nullptr;
  RtcpIn* received = nullptr;
  double reportNext = 0;
};

std::vector<Publisher*> publishers;
uint8_t packets[kBatch][kDatagram];
uint8_t payload[kDatagram];

double clockMs(clockid_t clock) {
  timespec t;
  clock_gettime(clock, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

/** Protects `length` bytes of `payload` as packet `counter` of `s` into `out`; its length (0: refused). */
size_t protect(Publisher* p, Stream& s, uint32_t counter, uint32_t timestamp, bool marker, size_t length,
               uint8_t* out) {
  uint32_t wire = s.seqOffset + counter;
  srtp_gcm::Fields f;
  f.flags = (marker ? 0x80 : 0) | (s.payloadType & 0x7f);
  f.sequence = wire & 0xffff;
  f.timestamp = timestamp + s.tsOffset;
  f.ssrc = s.ssrc;
  // The rollover counter werift's context would give: one more at each wrap of the wire sequence.
  f.roc = s.roc + static_cast<uint32_t>((static_cast<uint64_t>(s.seqOffset & 0xffff) + counter) >> 16);
  f.twcc = 0;
  if (p->twccId) {
    p->twccSequence = (p->twccSequence + 1) & 0xffff;
    f.twcc = (p->twccId << 16) | p->twccSequence;
  }
  double* stats = p->stats + (&s == &p->video ? kVideo : 0);
  stats[kOctets] += static_cast<double>(length);
  stats[kLastRtpTimestamp] = f.timestamp;
  stats[kLastSequence] = f.sequence;
  stats[kLastSendUnixMs] = p->unixMs;
  return srtp_gcm::protect(p->ctx, p->salt, f, payload, length, out);
}

/** The packets of `p` due by `now` into the batch (from `n`); the new count. */
size_t due(Publisher* p, double now, size_t n, size_t* lengths) {
  Stream& a = p->audio;
  while (a.on && a.next <= now && n < kBatch) {
    uint32_t counter = a.sent;
    synthetic::audio(payload, p->uid, counter);
    lengths[n] = protect(p, a, counter, counter * 960, false, kAudioBytes, packets[n]);
    if (lengths[n] > 0) n++;
    a.sent++;
    a.next += a.periodMs;  // a late stream does not catch up (as setInterval): a starved generator sends less
    if (a.next <= now) a.next = now + a.periodMs;
  }
  Stream& v = p->video;
  size_t count = p->frameBytes > p->mtu ? (p->frameBytes + p->mtu - 1) / p->mtu : 1;
  size_t minimum = 1 + synthetic::kVp8KeyframeHeader + synthetic::kMarkerBytes;
  size_t size = (p->frameBytes + count - 1) / count;
  if (size < minimum) size = minimum;
  while (v.on && v.next <= now && n + count <= kBatch && size <= kDatagram - 64) {
    for (size_t i = 0; i < count; i++) {
      uint32_t counter = v.sent;
      synthetic::video(payload, size, i, p->uid, counter, p->frame, p->keyframe);
      lengths[n] = protect(p, v, counter, p->frame * p->tsPerFrame, i == count - 1, size, packets[n]);
      if (lengths[n] > 0) n++;
      v.sent++;
    }
    p->keyframe = false;
    p->frame++;
    v.next += v.periodMs;
    if (v.next <= now) v.next = now + v.periodMs;
  }
  return n;
}

/** Sends `p`'s due packets in one sendmmsg; the number the kernel took. */
size_t sendDue(Publisher* p, double now, double unixMs) {
  size_t lengths[kBatch];
  p->unixMs = unixMs;
  size_t n = due(p, now, 0, lengths);
  p->stats[kSent] = p->audio.sent;
  p->stats[kVideo + kSent] = p->video.sent;
  if (n == 0) return 0;
  mmsghdr messages[kBatch];
  iovec vectors[kBatch];
  for (size_t i = 0; i < n; i++) {
    vectors[i] = {packets[i], lengths[i]};
    memset(&messages[i], 0, sizeof messages[i]);
    messages[i].msg_hdr.msg_iov = &vectors[i];
    messages[i].msg_hdr.msg_iovlen = 1;
    messages[i].msg_hdr.msg_name = &p->to;
    messages[i].msg_hdr.msg_namelen = p->toLength;
  }
  int sent = sendmmsg(p->fd, messages, static_cast<unsigned>(n), MSG_DONTWAIT);
  size_t taken = sent < 0 ? 0 : static_cast<size_t>(sent);
  // A datagram the kernel refused is lost, as it would be on a network: the receivers count it missing.
  p->stats[kSendErrors] += static_cast<double>(n - taken);
  return taken;
}

/** Sends `p`'s compound of reports when due (none before a packet is sent). */
void reportDue(Publisher* p, double now, double unixMs) {
  if (!p->counting || p->reportNext > now) return;
  p->reportNext = now + 500 + 1000 * (static_cast<double>(rand()) / RAND_MAX);
  SenderInfo senders[2];
  size_t count = 0;
  for (int kind = 0; kind < 2; kind++) {
    const Stream& s = kind == 0 ? p->audio : p->video;
    const double* stats = p->stats + (kind == 0 ? 0 : kVideo);
    if (!s.on || stats[kSent] == 0) continue;
    senders[count++] = {s.ssrc, stats[kLastSendUnixMs], static_cast<uint32_t>(stats[kLastRtpTimestamp]),
                        static_cast<uint32_t>(stats[kSent]), static_cast<uint32_t>(stats[kOctets])};
  }
  if (count == 0) return;
  size_t length = buildReports(&p->rtcp, senders, count, p->counting, p->received, unixMs, packets[0]);
  if (length == 0 || sendto(p->fd, packets[0], length, MSG_DONTWAIT, reinterpret_cast<sockaddr*>(&p->to),
                            p->toLength) < 0)
    p->stats[kReportErrors]++;
  else
    p->stats[kReports]++;
}

/** pump(): every running publisher's packets due by now; the number sent. */
napi_value pump(napi_env env, napi_callback_info) {
  double now = clockMs(CLOCK_MONOTONIC);
  double unixMs = clockMs(CLOCK_REALTIME);
  double total = 0;
  for (Publisher* p : publishers) {
    if (p->stopped) continue;
    total += static_cast<double>(sendDue(p, now, unixMs));
    reportDue(p, now, unixMs);
  }
  napi_value out;
  CHECK(napi_create_double(env, total, &out));
  return out;
}

void stop(Publisher* p) {
  if (p->stopped) return;
  p->stopped = true;
  for (size_t i = 0; i < publishers.size(); i++) {
    if (publishers[i] == p) {
      publishers.erase(publishers.begin() + i);
      break;
    }
  }
}

void finalize(napi_env env, void* data, void*) {
  auto* p = static_cast<Publisher*>(data);
  stop(p);
  if (p->statsRef) napi_delete_reference(env, p->statsRef);
  if (p->sinkRef) napi_delete_reference(env, p->sinkRef);
  EVP_CIPHER_CTX_free(p->ctx);
  EVP_CIPHER_CTX_free(p->rtcp.ctx);
  delete p;
}

/** The stream's five parameters from `params` at `at`: ssrc, payload type, sequence and timestamp
 *  offsets, rollover counter. */
void readStream(const uint32_t* params, size_t at, double periodMs, double now, Stream* s) {
  s->on = true;
  s->ssrc = params[at];
  s->payloadType = params[at + 1];
  s->seqOffset = params[at + 2];
  s->tsOffset = params[at + 3];
  s->roc = params[at + 4];
  s->periodMs = periodMs;
  // A random phase: the packets of different publishers leave spread over the period.
  s->next = now + periodMs * (static_cast<double>(rand()) / RAND_MAX);
}

constexpr size_t kParams = 17;

/**
 * new Publisher(fd, address, port, key: Buffer(16), salt: Buffer(>= 12), params: Uint32Array(17)):
 * params = uid, fps, frameBytes, mtu, twccId (0: none), twcc sequence sent last, kinds (1 audio | 2 video),
 * then audio's and video's ssrc, payload type, sequence offset, timestamp offset, rollover counter.
 * Sends from the next pump(); `stats` is its Float64Array of counts (rtp_gen.cc Stat).
 */
napi_value construct(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, nullptr));
  int32_t fd = -1;
  uint32_t port = 0;
  char address[64] = "";
  size_t n = 0;
  void *key = nullptr, *salt = nullptr, *raw = nullptr;
  size_t keyLength = 0, saltLength = 0, count = 0;
  napi_typedarray_type type;
  napi_value buffer;
  size_t offset = 0;
  if (argc < 6 || napi_get_value_int32(env, argv[0], &fd) != napi_ok ||
      napi_get_value_string_utf8(env, argv[1], address, sizeof address, &n) != napi_ok ||
      napi_get_value_uint32(env, argv[2], &port) != napi_ok ||
      napi_get_buffer_info(env, argv[3], &key, &keyLength) != napi_ok ||
      napi_get_buffer_info(env, argv[4], &salt, &saltLength) != napi_ok ||
      napi_get_typedarray_info(env, argv[5], &type, &count, &raw, &buffer, &offset) != napi_ok ||
      type != napi_uint32_array || count < kParams || keyLength != srtp_gcm::kKeyBytes ||
      saltLength < srtp_gcm::kIvBytes) {
    napi_throw_type_error(env, nullptr, "Publisher: fd, address, port, key(16), salt(12), params(17)");
    return nullptr;
  }
  auto* p = new Publisher();
  if (!udp_address::toSockaddr(address, port, &p->to, &p->toLength) ||
      (p->ctx = srtp_gcm::newContext(static_cast<uint8_t*>(key))) == nullptr) {
    delete p;
    napi_throw_error(env, nullptr, "Publisher: a bad address, or OpenSSL refused the key");
    return nullptr;
  }
  const auto* params = static_cast<const uint32_t*>(raw);
  p->fd = fd;
  memcpy(p->salt, salt, srtp_gcm::kIvBytes);
  p->uid = params[0];
  double fps = params[1] > 0 ? params[1] : 1;
  p->frameBytes = params[2];
  p->mtu = params[3] > 0 ? params[3] : 1100;
  p->tsPerFrame = static_cast<uint32_t>(90000 / fps + 0.5);  // Math.round(90_000 / fps)
  p->twccId = params[4] & 0xf;
  p->twccSequence = params[5] & 0xffff;
  double now = clockMs(CLOCK_MONOTONIC);
  if (params[6] & 1) readStream(params, 7, 20, now, &p->audio);
  if (params[6] & 2) readStream(params, 12, 1000 / fps, now, &p->video);
  void* statsData = nullptr;
  napi_value statsBuffer, stats;
  if (napi_create_arraybuffer(env, kStats * sizeof(double), &statsData, &statsBuffer) != napi_ok ||
      napi_create_typedarray(env, napi_float64_array, kStats, statsBuffer, 0, &stats) != napi_ok ||
      napi_create_reference(env, stats, 1, &p->statsRef) != napi_ok) {
    finalize(env, p, nullptr);
    return nullptr;
  }
  p->stats = static_cast<double*>(statsData);
  memset(p->stats, 0, kStats * sizeof(double));
  if (napi_wrap(env, self, p, finalize, nullptr, nullptr) != napi_ok) {
    finalize(env, p, nullptr);
    return nullptr;
  }
  CHECK(napi_set_named_property(env, self, "stats", stats));
  publishers.push_back(p);
  return self;
}

Publisher* unwrap(napi_env env, napi_callback_info info) {
  napi_value self;
  size_t argc = 0;
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, nullptr, &self, nullptr) != napi_ok) return nullptr;
  if (napi_unwrap(env, self, &data) != napi_ok) return nullptr;
  return static_cast<Publisher*>(data);
}

/** keyframe(): the next video frame is a keyframe (a keyframe request reached the publisher). */
napi_value keyframe(napi_env env, napi_callback_info info) {
  Publisher* p = unwrap(env, info);
  if (p) p->keyframe = true;
  return nullptr;
}

/**
 * reportWith(sink, receiverSsrc, cname, key: Buffer(16), salt: Buffer(>= 12), index): the participant's
 * RTCP from now on, one compound from pump() (rtcp_out.h): its senders' reports, a receiver report of what
 * `sink` counted with SSRC `receiverSsrc`, its CNAME; encrypted with the local SRTCP key and salt, the
 * SRTCP index continuing from `index` (werift's for the first sender's SSRC, which it no longer uses).
 */
napi_value reportWith(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], self;
  CHECK(napi_get_cb_info(env, info, &argc, argv, &self, nullptr));
  void* data = nullptr;
  CHECK(napi_unwrap(env, self, &data));
  auto* p = static_cast<Publisher*>(data);
  char cname[256] = "";
  size_t cnameLength = 0, keyLength = 0, saltLength = 0;
  void *key = nullptr, *salt = nullptr;
  uint32_t ssrc = 0, index = 0;
  Counting* counting = nullptr;
  RtcpIn* received = nullptr;
  if (argc < 6 || !sinkState(env, argv[0], &counting, &received) ||
      napi_get_value_uint32(env, argv[1], &ssrc) != napi_ok ||
      napi_get_value_string_utf8(env, argv[2], cname, sizeof cname, &cnameLength) != napi_ok ||
      napi_get_buffer_info(env, argv[3], &key, &keyLength) != napi_ok ||
      napi_get_buffer_info(env, argv[4], &salt, &saltLength) != napi_ok ||
      napi_get_value_uint32(env, argv[5], &index) != napi_ok || keyLength != srtp_gcm::kKeyBytes ||
      saltLength < srtp_gcm::kIvBytes || p->rtcp.ctx != nullptr ||
      (p->rtcp.ctx = srtp_gcm::newContext(static_cast<uint8_t*>(key))) == nullptr) {
    napi_throw_type_error(env, nullptr, "Publisher.reportWith: sink, ssrc, cname, key(16), salt(12), index");
    return nullptr;
  }
  CHECK(napi_create_reference(env, argv[0], 1, &p->sinkRef));  // its counts stay while reported
  memcpy(p->rtcp.salt, salt, srtp_gcm::kIvBytes);
  p->rtcp.index = index;
  p->rtcp.receiverSsrc = ssrc;
  p->rtcp.cname.assign(cname, cnameLength);
  p->counting = counting;
  p->received = received;
  p->reportNext = clockMs(CLOCK_MONOTONIC) + 500 + 1000 * (static_cast<double>(rand()) / RAND_MAX);
  return nullptr;
}

napi_value stopMethod(napi_env env, napi_callback_info info) {
  Publisher* p = unwrap(env, info);
  if (p) stop(p);
  return nullptr;
}

}  // namespace

bool registerPublisher(napi_env env, napi_value exports) {
  napi_property_descriptor methods[] = {
      {"keyframe", nullptr, keyframe, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"stop", nullptr, stopMethod, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"reportWith", nullptr, reportWith, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_value cls, pumpFn;
  if (napi_define_class(env, "Publisher", NAPI_AUTO_LENGTH, construct, nullptr, 3, methods, &cls) != napi_ok)
    return false;
  if (napi_set_named_property(env, exports, "Publisher", cls) != napi_ok) return false;
  if (napi_create_function(env, "pump", NAPI_AUTO_LENGTH, pump, nullptr, &pumpFn) != napi_ok) return false;
  return napi_set_named_property(env, exports, "pump", pumpFn) == napi_ok;
}
