// The test clients' synthetic payloads (e2e/sfu/media.ts audioPayload, videoFramePayloads) written in C++
// for bench:cluster's native publisher (rtp_gen.cc): a marker with the publisher's uid and packet counter,
// filler derived from them, so receivers check every payload as they check the test clients'.
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "srtp_gcm.h"

namespace synthetic {

constexpr uint16_t kMagic = 0x5048;  // e2e/sfu/media.ts MAGIC
constexpr size_t kMarkerBytes = 15;
constexpr size_t kVp8KeyframeHeader = 10;
constexpr size_t kVp8InterframeHeader = 3;
constexpr size_t kAudioBytes = 80;

/** e2e/sfu/media.ts writeMarker: magic, uid, counter, frame, keyframe, then filler from them. */
inline void writeMarker(uint8_t* buf, size_t length, size_t at, uint32_t uid, uint32_t counter, uint32_t frame,
                        bool keyframe) {
  srtp_gcm::put16(buf + at, kMagic);
  srtp_gcm::put32(buf + at + 2, uid);
  srtp_gcm::put32(buf + at + 6, counter);
  srtp_gcm::put32(buf + at + 10, frame);
  buf[at + 14] = keyframe ? 1 : 0;
  for (size_t i = at + kMarkerBytes; i < length; i++) buf[i] = static_cast<uint8_t>(uid + counter + i);
}

/** One Opus packet (kAudioBytes): the TOC (config 31, mono, one frame), then the marker. */
inline void audio(uint8_t* out, uint32_t uid, uint32_t counter) {
  memset(out, 0, kAudioBytes);
  out[0] = 0xf8;
  writeMarker(out, kAudioBytes, 1, uid, counter, counter, false);
}

/** Packet `index` (of a frame) of `size` bytes: the VP8 descriptor, on the first the payload header (and
 *  a keyframe's start code), then the marker. */
inline void video(uint8_t* out, size_t size, size_t index, uint32_t uid, uint32_t counter, uint32_t frame,
                  bool keyframe) {
  memset(out, 0, size);
  size_t at = 1;
  if (index == 0) {
    out[0] = 0x10;                            // VP8 descriptor: S=1, PID=0
    out[1] = 0x10 | (keyframe ? 0 : 1);       // show_frame, P = 0 on a keyframe
    at = 1 + kVp8InterframeHeader;
    if (keyframe) {
      const uint8_t start[] = {0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00};  // start code, 320 × 240
      memcpy(out + at, start, sizeof start);
      at = 1 + kVp8KeyframeHeader;
    }
  }
  writeMarker(out, size, at, uid, counter, frame, keyframe);
}

}  // namespace synthetic
