/**
 * Hugging Face tokenizers ({@code tokenizer.json}, or CLIP's {@code vocab.json} + {@code merges.txt})
 * for the engines: encode, decode, and incremental decoding for streaming. The Rust implementation
 * behind it is embedded and hidden.
 */
@Export
@Version("1.1.0")
package io.triptych.tokenizers;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;
