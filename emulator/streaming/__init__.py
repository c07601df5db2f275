"""Streaming transports of StartStreamTranscription / StartMedicalStreamTranscription.

`http2`: the HTTP/2 event-stream endpoints (`POST /stream-transcription`,
`POST /medical-stream-transcription`); `websocket`: the presigned WebSocket endpoints.
Both are raw ASGI apps over the shared core: `emulator.aws.eventstream` (codec),
`emulator.aws.event_signing` (chunk signatures) and `emulator.service.streaming` (sessions).
"""
