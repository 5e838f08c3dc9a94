// Reading, overriding, validating and printing a RunConfig. The one place that knows the YAML
// keys: an unknown key, a wrong type or an out-of-range value is an error naming the key and
// what is allowed. Nothing falls back silently.
#pragma once

#include <string>
#include <vector>

#include "config/run_config.h"
#include "core/status.h"

namespace ectrain::config {

// Who wrote the YAML text: a user (a config file), or ectrain itself (the copy a checkpoint stores,
// ToYaml's). A key the user wrote must apply to the config's choices (model.cross_layers only with
// model.type: dcn, ...; an error names every one that does not); of a stored copy only the
// overrides count as written by the user.
enum class ConfigOrigin { kUser, kStored };

// `overrides` are "section.key=value" strings (value in YAML syntax: 3, 1e-3, [64, 32], text),
// applied over the file before validation.
StatusOr<RunConfig> LoadConfig(const std::string& path, const std::vector<std::string>& overrides);
StatusOr<RunConfig> ParseConfig(const std::string& yaml_text, const std::vector<std::string>& overrides,
                                const std::string& source_name, ConfigOrigin origin = ConfigOrigin::kUser);

// What `train`/`eval` need beyond a valid file: data.train, data.test, data.label and at least
// one feature column. `source` names the config file in the message.
Status CheckTrainingInputs(const RunConfig& config, const std::string& source);
// What `prepare` needs: prepare.source, data.train, data.test and data.label.
Status CheckPrepareInputs(const RunConfig& config, const std::string& source);

// The complete resolved configuration, every key that applies to its choices, as YAML that
// LoadConfig reads back.
std::string ToYaml(const RunConfig& config);

// One line per key, "section.key  default  help", for `ectrain train --help-config`.
std::string DescribeKeys();

}  // namespace ectrain::config
