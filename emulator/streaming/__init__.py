"""Streaming transports of StartStreamTranscription / StartMedicalStreamTranscription.

`http2`: the HTTP/2 event-stream endpoints (`POST /stream-transcription`,
`POST /medical-stream-transcription`); `websocket`: the presigned WebSocket endpoints. Both are
raw ASGI apps over what they share in `session_io` (errors, start headers, envelopes, idle
timeout, audio inbox, the recognition pump) and `transcript_events` (typed results -> JSON
event-stream messages), on `emulator.aws` (codec, chunk signatures, SigV4) and the service's
sessions (`emulator.service.streaming`). `goaway`: hypercorn's HTTP/2 GOAWAY at shutdown.
"""
