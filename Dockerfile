# A small image with the okta365 binary alone: a static (musl) build on
# Alpine, copied onto an empty image with the CA certificates TLS needs.
#
#   docker build -t okta365 .
#   docker run --rm -v "$PWD:/work" -w /work -e OKTA365_GRAPH_SECRET okta365 plan
FROM rust:1.95-alpine AS build
RUN apk add --no-cache musl-dev ca-certificates
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin okta365 \
    && cp target/release/okta365 /okta365 \
    && /okta365 --version

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /okta365 /okta365
USER 65532:65532
WORKDIR /work
ENTRYPOINT ["/okta365"]
CMD ["--help"]
