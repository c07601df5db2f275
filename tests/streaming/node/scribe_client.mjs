// StartMedicalScribeStream and GetMedicalScribeStream over HTTP/2 with the unmodified AWS SDK for
// JavaScript v3 (@aws-sdk/client-transcribe-streaming, its default NodeHttp2Handler: h2c for
// http://).
//
//   node scribe_client.mjs --endpoint http://127.0.0.1:PORT --audio visit.s16le --channels 2 \
//        --bucket BUCKET [--channel-definitions] [--session-id ID] [--no-end] [--poll]
//   node scribe_client.mjs --endpoint ... --get SESSION_ID          (GetMedicalScribeStream only)
//
// The input stream: the MedicalScribeConfigurationEvent (unless --audio-first, which sends audio
// before it), the audio as AudioEvents of --chunk-ms at --speed times real time, then a
// MedicalScribeSessionControlEvent END_OF_SESSION (unless --no-end: the session pauses).
// --channel-definitions: channel 0 CLINICIAN, channel 1 PATIENT (--patient-first swaps them).
// --poll: GetMedicalScribeStream every 0.5 s (at most --poll-s seconds) until the clinical note
// generation is no longer IN_PROGRESS.
// Output, one JSON object a line (see common.mjs for "end" and "error"); t: seconds since the
// script started (bench/scribe_stream.py times latencies with it):
//   {"event":"audio","t":...}                   (the first AudioEvent is handed to the SDK)
//   {"event":"TranscriptEvent","t":...,"segment":{SegmentId,BeginAudioTime,EndAudioTime,Content,Items,IsPartial,ChannelId}}
//   {"event":"details","details":{MedicalScribeStreamDetails}}
import {
  GetMedicalScribeStreamCommand,
  StartMedicalScribeStreamCommand,
  TranscribeStreamingClient,
} from "@aws-sdk/client-transcribe-streaming";
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { options, print, run } from "./common.mjs";

const opts = options({
  bucket: { type: "string", default: "scribe-stream-output" },
  "session-id": { type: "string" },
  "channel-definitions": { type: "boolean", default: false },
  "patient-first": { type: "boolean", default: false },
  template: { type: "string" },
  "vocabulary-filter": { type: "string" },
  "no-end": { type: "boolean", default: false },
  "audio-first": { type: "boolean", default: false },
  poll: { type: "boolean", default: false },
  "poll-s": { type: "string", default: "120" },
  get: { type: "string" },
});

const started = Date.now();
const seconds = () => (Date.now() - started) / 1000;
const client = new TranscribeStreamingClient({
  region: opts.region,
  endpoint: opts.endpoint,
  credentials: { accessKeyId: opts["access-key"], secretAccessKey: opts["secret-key"] },
  maxAttempts: 1,
});

function configuration() {
  const roles = opts["patient-first"] ? ["PATIENT", "CLINICIAN"] : ["CLINICIAN", "PATIENT"];
  return {
    ResourceAccessRoleArn: "arn:aws:iam::123456789012:role/healthscribe-stream",
    PostStreamAnalyticsSettings: {
      ClinicalNoteGenerationSettings: { OutputBucketName: opts.bucket, NoteTemplate: opts.template },
    },
    ChannelDefinitions: opts["channel-definitions"]
      ? roles.map((role, channel) => ({ ChannelId: channel, ParticipantRole: role }))
      : undefined,
    VocabularyFilterName: opts["vocabulary-filter"],
    VocabularyFilterMethod: opts["vocabulary-filter"] ? "mask" : undefined,
    EncryptionSettings: { KmsKeyId: "alias/healthscribe-test" },
    MedicalScribeContext: { PatientContext: { Pronouns: "HE_HIM" } },
  };
}

async function* inputStream() {
  const pcm = readFileSync(opts.audio);
  const rate = Number(opts["sample-rate"]);
  const chunkMs = Number(opts["chunk-ms"]);
  const speed = Number(opts.speed);
  const bytes = Math.round((rate * chunkMs) / 1000) * 2 * Number(opts.channels);
  if (!opts["audio-first"]) yield { ConfigurationEvent: configuration() };
  for (let offset = 0; offset < pcm.length; offset += bytes) {
    if (offset === 0) print({ event: "audio", t: seconds() });
    yield { AudioEvent: { AudioChunk: pcm.subarray(offset, offset + bytes) } };
    if (speed > 0) await sleep(chunkMs / speed);
  }
  if (!opts["no-end"]) yield { SessionControlEvent: { Type: "END_OF_SESSION" } };
}

async function details(sessionId) {
  const response = await client.send(new GetMedicalScribeStreamCommand({ SessionId: sessionId }));
  return response.MedicalScribeStreamDetails;
}

async function poll(sessionId) {
  const deadline = Date.now() + Number(opts["poll-s"]) * 1000;
  for (;;) {
    const found = await details(sessionId);
    const status = found.PostStreamAnalyticsResult?.ClinicalNoteGenerationResult?.Status;
    if (status !== "IN_PROGRESS" || Date.now() > deadline) return found;
    await sleep(500);
  }
}

await run(async () => {
  if (opts.get) {
    print({ event: "details", details: await details(opts.get) });
    return { SessionId: opts.get };
  }
  const response = await client.send(
    new StartMedicalScribeStreamCommand({
      LanguageCode: opts["language-code"],
      MediaEncoding: "pcm",
      MediaSampleRateHertz: Number(opts["sample-rate"]),
      SessionId: opts["session-id"],
      InputStream: inputStream(),
    }),
  );
  let events = 0;
  for await (const event of response.ResultStream) {
    if (event.TranscriptEvent) {
      events += 1;
      print({ event: "TranscriptEvent", t: seconds(), segment: event.TranscriptEvent.TranscriptSegment });
    }
  }
  if (opts.poll) {
    const found = await poll(response.SessionId);
    print({ event: "details", t: seconds(), details: found });
  }
  client.destroy();
  return {
    SessionId: response.SessionId,
    RequestId: response.RequestId,
    LanguageCode: response.LanguageCode,
    MediaSampleRateHertz: response.MediaSampleRateHertz,
    MediaEncoding: response.MediaEncoding,
    events,
  };
});
