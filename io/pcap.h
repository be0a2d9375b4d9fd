/* A pcapng capture of the datagrams a process sends and receives, with the TLS secrets in a
 * Decryption Secrets Block (draft-ietf-opsawg-pcapng-06 §4.7), so that Wireshark and tshark
 * decrypt it with no other file. */
#ifndef IO_PCAP_H
#define IO_PCAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/export.h"
#include "io/udp.h"

/*
 * Every datagram goes in as the UDP payload it is on the wire: a GSO train is
 * recorded as the datagrams the kernel makes of it. Each is framed in an IPv4
 * or IPv6 + UDP header (link type LINKTYPE_RAW) with real checksums.
 *
 * Secrets arrive while packets are captured, but a reader decrypts only with
 * secrets that come before the packets (§4.7): packet blocks go to a
 * temporary file, and io_pcap_close writes the file as Section Header,
 * Interface Description, one Decryption Secrets Block with every key-log line,
 * then the packets. The file exists once io_pcap_close returned IO_OK.
 */
typedef struct io_pcap io_pcap;

/* Start a capture that io_pcap_close writes to path (created 0600: it holds
 * secrets). Returns IO_OK, IO_ERR_FILE (errno set) or IO_ERR_NOMEM. */
QUINCE_API int io_pcap_open(io_pcap **out, const char *path);
/* One datagram: sent (from local to peer) or received (from peer to local).
 * A local address that is unspecified (a socket bound to 0.0.0.0) is replaced
 * by the source address the kernel would route from. */
QUINCE_API void io_pcap_datagram(io_pcap *p, bool sent, const io_addr *local, const io_addr *peer,
                                 const uint8_t *data, size_t len);
/* One NSS key-log line (without newline). */
QUINCE_API void io_pcap_keylog(io_pcap *p, const char *line);
/* Returns the number of datagrams recorded so far. */
QUINCE_API uint64_t io_pcap_count(const io_pcap *p);
/* Write the file and free p. Returns IO_OK or IO_ERR_FILE (errno set). */
QUINCE_API int io_pcap_close(io_pcap *p);

#endif
