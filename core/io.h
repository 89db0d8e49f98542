#pragma once

// Small file helpers shared by the apps.

#include <string>

namespace lstmnlp {

/// Writes `text` to `path` (created or truncated, bytes as given). Throws InputError naming the
/// path when the file cannot be written. For checkpoints and other files that must survive a
/// crash mid-write, use write_file_atomic (core/checkpoint.h).
void write_text(const std::string& path, const std::string& text);

}  // namespace lstmnlp
