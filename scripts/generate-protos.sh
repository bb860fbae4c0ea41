#!/usr/bin/env bash
# Regenerates Sources/KaspaP2P/Generated from Protos/kaspa_p2p.proto.
#
# Needs `protoc` (Debian: protobuf-compiler). The two protoc plugins are built from this
# package's own dependencies (swift-protobuf, grpc-swift-protobuf) in a separate scratch
# folder, so the normal build never runs them. The output is committed.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v protoc >/dev/null || { echo "protoc not found: apt-get install protobuf-compiler" >&2; exit 1; }

scratch=.build-codegen
swift build --scratch-path "$scratch" --product protoc-gen-swift
swift build --scratch-path "$scratch" --product protoc-gen-grpc-swift-2
bin=$(swift build --scratch-path "$scratch" --show-bin-path)

out=Sources/KaspaP2P/Generated
protoc \
  --plugin=protoc-gen-swift="$bin/protoc-gen-swift" \
  --plugin=protoc-gen-grpc-swift="$bin/protoc-gen-grpc-swift-2" \
  --swift_opt=Visibility=Public,UseAccessLevelOnImports=true \
  --swift_out="$out" \
  --grpc-swift_opt=Visibility=Public,Client=true,Server=true,UseAccessLevelOnImports=true \
  --grpc-swift_out="$out" \
  -I Protos \
  Protos/kaspa_p2p.proto
echo "generated: $(ls "$out")"
