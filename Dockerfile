# stoa's container image: a static binary on an empty base (scratch), run as
# user 65532, fit for a read-only root file system.
#
#	docker build -t stoa .
#	docker run --read-only -p 8080:8080 -v "$PWD/site:/srv:ro" stoa
#
# It serves /srv (the sample site until a volume is mounted there) on
# 0.0.0.0:8080, with the admin endpoint (/healthz, /readyz, /metrics) on
# port 9090. stoa writes only to /var/cache/stoa (cache_dir, for sites served
# from a release store) and /var/lib/stoa (ACME's accounts and
# certificates), both owned by 65532: mount volumes there when they are used
# on a read-only root.
#
# Without Docker, or without a registry: deploy/image/build makes the same
# image with podman from the final stage below.

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# Without git in the build context, say what to stamp:
# docker build --build-arg VERSION=v1.2.3 --build-arg COMMIT=... --build-arg SOURCE_DATE_EPOCH=...
ARG VERSION
ARG COMMIT
ARG DATE
ARG SOURCE_DATE_EPOCH
RUN deploy/image/rootfs /image

FROM scratch
COPY --from=build /image/root/ /
COPY --chown=65532:65532 --from=build /image/cache/ /var/cache/
COPY --chown=65532:65532 --from=build /image/lib/ /var/lib/
USER 65532:65532
WORKDIR /srv
# ACME's default storage is $XDG_DATA_HOME/certmagic.
ENV XDG_DATA_HOME=/var/lib/stoa
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/stoa"]
CMD ["serve", "/srv", "--listen", "0.0.0.0:8080", "--admin", ":9090", "--cache-dir", "/var/cache/stoa"]
