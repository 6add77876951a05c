// ktc/kernels/float/layout.ipp - the definitions behind layout.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/kernels/float/layout.hpp"

namespace ktc::kernels::floating {

KTC_DECL void add_layout_kernels(kernel_table& t) {
    t["Identity"] = &identity_kernel;
    t["Dropout"] = &dropout_kernel;
    t["Flatten"] = &flatten_kernel;
    t["Reshape"] = &reshape_kernel;
    t["Squeeze"] = &squeeze_kernel;
    t["Unsqueeze"] = &unsqueeze_kernel;
    t["Transpose"] = &transpose_kernel;
    t["DepthToSpace"] = &depth_to_space_kernel;
    t["SpaceToDepth"] = &space_to_depth_kernel;
    t["Concat"] = &concat_kernel;
    t["Split"] = &split_kernel;
    t["Slice"] = &slice_kernel;
    t["Pad"] = &pad_kernel;
    t["Gather"] = &gather_kernel;
    t["GatherElements"] = &gather_elements_kernel;
    t["GatherND"] = &gather_nd_kernel;
    t["Shape"] = &shape_kernel;
    t["Size"] = &size_kernel;
    t["Cast"] = &cast_kernel;
    t["CastLike"] = &cast_like_kernel;
    t["Constant"] = &constant_kernel;
    t["ConstantOfShape"] = &constant_of_shape_kernel;
    t["Expand"] = &expand_kernel;
    t["Tile"] = &tile_kernel;
    t["Range"] = &range_kernel;
    t["Trilu"] = &trilu_kernel;
    t["NonZero"] = &non_zero_kernel;
    t["OneHot"] = &one_hot_kernel;
    t["Compress"] = &compress_kernel;
    t["ScatterElements"] = &scatter_elements_kernel;
    t["Scatter"] = &scatter_elements_kernel;  // opset 9-10 name of ScatterElements
    t["ScatterND"] = &scatter_nd_kernel;
    t["EyeLike"] = &eye_like_kernel;
    t["ReverseSequence"] = &reverse_sequence_kernel;
}

}  // namespace ktc::kernels::floating
