# syntax=docker/dockerfile:1
# Build: docker build -t bankbot .
# Run:   docker run -p 8080:8080 -v $PWD/config.yaml:/etc/bankbot/config.yaml -v bankbot-data:/var/lib/bankbot bankbot

FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG COMMIT=unknown
# Pure Go (modernc.org/sqlite needs no cgo): a static binary.
RUN CGO_ENABLED=0 go build -trimpath \
      -ldflags "-s -w -X main.version=${VERSION} -X main.commit=${COMMIT}" \
      -o /out/bankbot . \
 && mkdir -p /out/data

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/bankbot /usr/local/bin/bankbot
COPY --from=build /src/config.yaml /etc/bankbot/config.yaml
COPY --from=build --chown=65532:65532 /out/data /var/lib/bankbot
USER 65532:65532
# The shipped config reads these: the database on the volume, and the admin
# listener (health, metrics; the admin API itself needs BANKBOT_ADMIN_TOKEN)
# reachable by the orchestrator's probes.
ENV BANKBOT_CONFIG=/etc/bankbot/config.yaml \
    BANKBOT_SQLITE_PATH=/var/lib/bankbot/bankbot.db \
    BANKBOT_ADMIN_LISTEN=0.0.0.0:9090
EXPOSE 8080 9090
VOLUME ["/var/lib/bankbot"]
ENTRYPOINT ["/usr/local/bin/bankbot"]
CMD ["serve"]
