// The seed manual's performance tables (../shared/reference/perf-calibration.csv): each row's
// model file in the calibration zoo (tools/calibration_zoo.py), the published NPU-only time and
// the "Has CPU node(s)?" column. Rows whose times are withheld on purpose carry a negative time:
// they validate the cost model on models it was not fitted on, and only their CPU-node column
// is checked.
#pragma once

#include <string_view>

namespace ktc::calibration {

struct row {
    std::string_view platform;  // "520" or "720"
    std::string_view model;     // the zoo's file stem
    std::string_view label;     // as the table spells it
    std::string_view input;
    double published_ms;  // < 0: withheld
    bool has_cpu_nodes;
};

inline constexpr double withheld = -1;

inline constexpr row rows[] = {
    {"520", "inception_v3", "Inception v3", "224x224", 158, false},
    {"520", "mobilenet_v1", "Mobilenet v1", "224x224", 16.5, false},
    {"520", "mobilenet_v2", "Mobilenet v2", "224x224", 16.3, false},
    {"520", "mobilenet_v2_ssdlite", "Mobilenet v2 ssdlite", "300x300", 32.9, false},
    {"520", "resnet50_v1_5", "Resnet50 v1.5", "224x224", 142.4, false},
    {"520", "openpose", "OpenPose", "256x256", 1639, false},
    {"520", "tiny_yolo_v3", "Tiny yolo v3", "416x416", 43.8, true},
    {"520", "inception_v4", "Inception v4", "299x299", withheld, false},
    {"520", "srcnn", "SRCNN", "384x384", withheld, false},
    {"520", "yolo_v3", "Yolo v3", "416x416", withheld, true},
    {"720", "inception_v3", "Inception v3", "224x224", 12.4, false},
    {"720", "mobilenet_v2", "Mobilenet v2", "224x224", 1.60, false},
    {"720", "mobilenet_v2_ssdlite", "Mobilenet v2 ssdlite", "300x300", 3.54, false},
    {"720", "resnet50_v1_5", "Resnet50 v1.5", "224x224", 19.1, false},
    {"720", "openpose", "OpenPose", "256x256", 189, false},
    {"720", "tiny_yolo_v3", "Tiny yolo v3", "416x416", 6.75, false},
    {"720", "yolo_v3", "Yolo v3", "416x416", 95.3, false},
    {"720", "centernet_res101", "Centernet res101", "512x512", 331, false},
    {"720", "inception_v4", "Inception v4", "299x299", withheld, false},
    {"720", "mobilenet_v1", "Mobilenet v1", "224x224", withheld, false},
    {"720", "srcnn", "SRCNN", "384x384", withheld, false},
    {"720", "unet", "Unet", "384x384", withheld, false},
};

}  // namespace ktc::calibration
