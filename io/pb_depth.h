/* pb_depth.h — how deeply the messages of a serialized protobuf nest,
 * measured before unpacking it.
 *
 * protobuf-c unpacks nested messages recursively with no depth limit, so a
 * hostile file of a few megabytes (an ONNX If whose branch holds an If whose
 * branch holds an If ... 100,000 deep, or a TypeProto sequence of sequences)
 * overflows the stack inside protobuf_c_message_unpack. pb_depth_check walks
 * the wire format with the message's descriptor (only length-delimited
 * fields whose descriptor says "message" are entered) and stops as soon as
 * the nesting passes limit. It reads nothing outside buf[0..len) and keeps
 * its own recursion within limit. A wire-format error is not its business:
 * it stops there and leaves the verdict to the unpacker.
 */
#ifndef QS_PB_DEPTH_H
#define QS_PB_DEPTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* True when no message in buf (a serialized `desc`, depth 0) nests deeper
 * than limit levels; false otherwise, with *where (may be NULL) set to the
 * byte offset of the first message past the limit. */
bool pb_depth_check(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len,
                    int limit, size_t *where);

/* Read the base-128 varint at *p (before end) into *v and step past it;
 * false when it runs past end or over ten bytes. */
bool pb_varint(const uint8_t **p, const uint8_t *end, uint64_t *v);

#endif
