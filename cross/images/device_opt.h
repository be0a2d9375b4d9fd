/* Options of the size images (scripts/size.sh names this header with
 * QUINCE_OPT_HEADER, README "Build options"): what a device changes from the
 * defaults besides the features it leaves out with meson options. */
#ifndef CROSS_IMAGES_DEVICE_OPT_H
#define CROSS_IMAGES_DEVICE_OPT_H

/* QPACK's Huffman strings decoded with 290 bytes of tables, not 12 KB. */
#define H3_OPT_HUFFMAN_SMALL 1

/* What a sensor does without (base/opt.h): it never probes past 1200-byte
 * packets, never moves, starts every connection afresh and uses plain slow start. */
#define QUINCE_PMTUD 0
#define QUINCE_MIGRATION 0
#define QUINCE_RESUMPTION 0
#define QUINCE_HYSTART 0
#define QUINCE_ACK_FREQUENCY 0

#endif
