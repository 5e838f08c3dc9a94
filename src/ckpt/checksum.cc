#include "ckpt/checksum.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace ectrain::ckpt {

uint64_t Checksum(const void* bytes, size_t size) { return XXH3_64bits(bytes, size); }

struct ChecksumStream::State {
  XXH3_state_t xxh3;
};

ChecksumStream::ChecksumStream() : state_(std::make_unique<State>()) { XXH3_64bits_reset(&state_->xxh3); }
ChecksumStream::~ChecksumStream() = default;
void ChecksumStream::Add(const void* bytes, size_t size) { XXH3_64bits_update(&state_->xxh3, bytes, size); }
uint64_t ChecksumStream::Digest() const { return XXH3_64bits_digest(&state_->xxh3); }

}  // namespace ectrain::ckpt
