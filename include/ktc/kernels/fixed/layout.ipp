// ktc/kernels/fixed/layout.ipp - the definitions behind layout.hpp (compiled once in src/, or
// included by the header when header-only: core/config.hpp).
#pragma once

#include "ktc/kernels/fixed/layout.hpp"

namespace ktc::kernels::fixed {

KTC_DECL void add_layout_kernels(kernel_table& t) {
    t["Reshape"] = &move_data<&floating::reshape_kernel>;
    t["Flatten"] = &move_data<&floating::flatten_kernel>;
    t["Transpose"] = &move_data<&floating::transpose_kernel>;
    t["Squeeze"] = &move_data<&floating::squeeze_kernel>;
    t["Unsqueeze"] = &move_data<&floating::unsqueeze_kernel>;
    t["Slice"] = &move_data<&floating::slice_kernel>;
    t["Gather"] = &move_data<&floating::gather_kernel>;
    t["Split"] = &move_data<&floating::split_kernel>;
    t["Identity"] = &move_data<&floating::identity_kernel>;
    t["Dropout"] = &move_data<&floating::dropout_kernel>;
    t["DepthToSpace"] = &move_data<&floating::depth_to_space_kernel>;
    t["SpaceToDepth"] = &move_data<&floating::space_to_depth_kernel>;
    t["Tile"] = &move_data<&floating::tile_kernel>;
    t["Expand"] = &move_data<&floating::expand_kernel>;
    t["Shape"] = &move_data<&floating::shape_kernel>;
    t["Pad"] = &pad;
    t["Resize"] = &resize;
}

}  // namespace ktc::kernels::fixed
