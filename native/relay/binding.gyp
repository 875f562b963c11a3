{
  "targets": [
    {
      "target_name": "pinhole_relay",
      "sources": ["src/addon.cc", "src/relay.cc", "src/allocations.cc", "src/batch_io.cc"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-O2", "-std=c++17", "-Wall", "-Wextra", "-fno-exceptions"],
      "cflags_cc!": ["-fno-rtti"],
      "conditions": [
        ["OS!='linux'", {"defines": ["PINHOLE_NO_MMSG"]}]
      ]
    },
    {
      "target_name": "pinhole_media",
      "sources": ["src/srtp_out.cc", "src/srtp_in.cc"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-O2", "-std=c++17", "-Wall", "-Wextra", "-fno-exceptions"]
    },
    {
      "target_name": "pinhole_rtp_sink",
      "sources": ["src/rtp_sink.cc", "src/rtp_gen.cc", "src/rtcp_in.cc", "src/rtp_count.cc", "src/rtcp_out.cc"],
      "defines": ["NAPI_VERSION=8"],
      "cflags_cc": ["-O2", "-std=c++17", "-Wall", "-Wextra", "-fno-exceptions"]
    }
  ]
}
