# The native addon: the datapath (native/: ports, thread, the OpenFlow pipeline) and its N-API binding, built by
# node-gyp during `npm ci` (package.json "install") against Node's own headers.
# Plain C11 with the warnings native/Makefile uses, but not -Werror: a newer
# compiler on a user's machine must not turn a new warning into a failed install.
{
  "targets": [
    {
      "target_name": "tsof_native",
      "sources": [
        "native/actions.c",
        "native/addon.c",
        "native/classifier.c",
        "native/dp.c",
        "native/flow.c",
        "native/group.c",
        "native/idmap.c",
        "native/mac_learning.c",
        "native/meter.c",
        "native/mod_apply.c",
        "native/mod_decode.c",
        "native/netlink.c",
        "native/offload.c",
        "native/pipeline.c",
        "native/port_afpacket.c",
        "native/port_memory.c",
        "native/port_table.c",
        "native/rcu.c",
        "native/stats.c",
        "native/timer_wheel.c",
        "native/trace.c",
        "native/walk.c"
      ],
      "cflags_c": [
        "-std=c11",
        "-Wall",
        "-Wextra",
        "-Wshadow",
        "-Wstrict-prototypes",
        "-Wmissing-prototypes"
      ]
    }
  ]
}
