# Build a static herald binary, then copy it into a minimal image that runs
# it as a non-root user.
FROM golang:1.26-bookworm AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
RUN CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X github.com/herald-news/herald/service.Version=${VERSION}" -o /out/herald ./cmd/herald

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates tzdata \
	&& rm -rf /var/lib/apt/lists/* \
	&& useradd --system --uid 10001 --home /nonexistent --shell /usr/sbin/nologin herald \
	&& install -d -o 10001 -m 700 /var/lib/herald
COPY --from=build /out/herald /usr/local/bin/herald
USER 10001
ENV HERALD_HTTP_ADDR=0.0.0.0:8080
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/herald"]
CMD ["serve"]
