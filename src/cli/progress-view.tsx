// The ink view behind src/cli/progress.ts (imported only on a TTY: ink and react load lazily).
import { Box, Text, render } from "ink";
import { useEffect, useState } from "react";

export interface ProgressState {
  label: string;
  message: string;
  ratio?: number;
  status: "running" | "done" | "failed";
}

const FRAMES = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

function Bar({ ratio }: { ratio: number }) {
  const width = 20;
  const filled = Math.round(Math.max(0, Math.min(1, ratio)) * width);
  return <Text color="cyan">{`[${"█".repeat(filled)}${"░".repeat(width - filled)}] ${Math.round(ratio * 100)}%`}</Text>;
}

function Status({ subscribe }: { subscribe: (fn: (s: ProgressState) => void) => ProgressState }) {
  const [state, setState] = useState<ProgressState>(() => subscribe((s) => setState({ ...s })));
  const [frame, setFrame] = useState(0);
  useEffect(() => {
    if (state.status !== "running") return;
    const t = setInterval(() => setFrame((f) => (f + 1) % FRAMES.length), 80);
    return () => clearInterval(t);
  }, [state.status]);
  const icon = state.status === "done" ? <Text color="green">✔</Text> : state.status === "failed" ? <Text color="red">✘</Text> : <Text color="cyan">{FRAMES[frame]}</Text>;
  return (
    <Box gap={1}>
      {icon}
      <Text bold>{state.label}</Text>
      {state.ratio !== undefined && state.status === "running" ? <Bar ratio={state.ratio} /> : null}
      <Text dimColor={state.status === "running"}>{state.message}</Text>
    </Box>
  );
}

export function mount(stream: NodeJS.WriteStream, subscribe: (fn: (s: ProgressState) => void) => ProgressState) {
  return render(<Status subscribe={subscribe} />, { stdout: stream, patchConsole: false, exitOnCtrlC: false });
}
