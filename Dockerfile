# syntax=docker/dockerfile:1
#
# oktasync in a container: `oktasync serve` on 0.0.0.0:8080, the SQLite mirror in /data.
#
#   docker build -t oktasync .
#   docker run -p 8080:8080 -v oktasync-data:/data oktasync
#
# No container is needed to build, run or test oktasync; see the README.

# --- build: a release binary -------------------------------------------------------------
# rust:1-bookworm follows the newest stable Rust (the workspace needs 1.94 or newer) and has
# gcc, which builds the bundled SQLite and aws-lc (aws-lc-sys uses its cc builder and its
# pre-generated bindings on x86_64 and aarch64 Linux: no cmake, clang or Go needed).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# The caches keep downloaded crates and compiled dependencies between builds; the binary is
# copied out of the cached target directory in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release -p oktasync --locked \
 && install -D -m 0755 target/release/oktasync /out/oktasync \
 && install -d -m 0700 -o 65532 -g 65532 /out/data

# --- run: glibc, CA certificates and the binary; no shell, no package manager ----------------
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/oktasync /usr/local/bin/oktasync
# The mirror (./oktasync.db) and an optional ./oktasync.toml live in /data, owned by the
# image's non-root user (65532); a named volume starts with that ownership.
COPY --from=build --chown=65532:65532 /out/data /data
WORKDIR /data
VOLUME ["/data"]
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["oktasync"]
CMD ["serve", "--listen", "0.0.0.0:8080"]
