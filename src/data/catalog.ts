/** The data sets of the series: where each comes from and how to check a copy of it. */

export interface DatasetInfo {
  name: string;
  /** File name in HERO_DATA_DIR or the cache dir. */
  file: string;
  /** Canonical source, downloaded when no local copy exists. */
  url: string;
  sha256: string;
  bytes: number;
  description: string;
}

export const DATASETS: Record<string, DatasetInfo> = {
  names: {
    name: "names",
    file: "names.txt",
    url: "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt",
    sha256: "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
    bytes: 228145,
    description: "32,033 lower-case first names (makemore)",
  },
  tinyshakespeare: {
    name: "tinyshakespeare",
    file: "tinyshakespeare.txt",
    url: "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
    sha256: "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    bytes: 1115394,
    description: "1.1M characters of Shakespeare (char-rnn, nanoGPT)",
  },
  taylorswift: {
    name: "taylorswift",
    file: "taylorswift.txt",
    url: "https://raw.githubusercontent.com/karpathy/minbpe/master/tests/taylorswift.txt",
    sha256: "c2e39cb822d4ae0caac22152cefc306d466e31217a9c5524e493ad2b76792f57",
    bytes: 185768,
    description: "the Wikipedia article on Taylor Swift (minbpe's tokenizer test text)",
  },
};

export function datasetInfo(name: string): DatasetInfo {
  const info = DATASETS[name];
  if (!info) throw new Error(`unknown data set "${name}"; known: ${Object.keys(DATASETS).join(", ")}`);
  return info;
}
