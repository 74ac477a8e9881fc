{
  "targets": [{
    "target_name": "gptune",
    "sources": ["<!@(node -p \"require('fs').readdirSync('native/src',{recursive:true}).filter(f=>f.endsWith('.cc')).sort().map(f=>'native/src/'+f).join(' ')\")"],
    "include_dirs": ["native/src"],
    "cflags!": ["-fno-exceptions", "-O2"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-O2"],
    "cflags": ["-O3", "-pthread", "-fvisibility=hidden", "-fno-math-errno"],
    "cflags_cc": ["-O3", "-std=c++17", "-fexceptions", "-pthread", "-fvisibility=hidden", "-fno-math-errno"],
    "ldflags": ["-pthread"],
    "defines": ["NAPI_VERSION=8"]
  }]
}
