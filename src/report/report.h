// `ectrain report`: training runs side by side in one self-contained HTML page (inline SVG and CSS;
// no scripts, nothing fetched): loss, metric, learning-rate and throughput curves with the runs
// overlaid, where each run's step time went, its memory, its final metrics and its config.yaml.
// RenderReport is pure; WriteReport reads the run folders and writes the file.
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "report/run_history.h"

namespace ectrain::report {

struct Report {
  std::string html;
  int charts = 0;  // <figure class="chart"> elements: only those with data to draw
};

// The page for `runs` (their names label the curves; runs[i] gets the i-th colour).
Report RenderReport(const std::vector<RunHistory>& runs);

// Reads every folder (ReadRun), renders them together and writes `out` through a temporary file
// renamed into place, so a failed write leaves no half page. Errors name the folder, file and line.
StatusOr<Report> WriteReport(const std::vector<std::string>& dirs, const std::string& out);

}  // namespace ectrain::report
