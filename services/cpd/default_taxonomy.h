// The development-area taxonomy every new trust starts with. A trust may add,
// relabel and retire areas afterwards; see docs/taxonomy.md.

#ifndef THROUGHLINE_SERVICES_CPD_DEFAULT_TAXONOMY_H_
#define THROUGHLINE_SERVICES_CPD_DEFAULT_TAXONOMY_H_

namespace throughline::services::cpd {

struct DefaultArea {
  const char* code;
  const char* label;
  const char* description;
};

inline constexpr DefaultArea kDefaultTaxonomy[] = {
    {"behaviour", "Behaviour",
     "Routines, expectations and relationships that make learning possible."},
    {"adaptive-teaching", "Adaptive teaching",
     "Adjusting teaching to pupils' needs while keeping high expectations."},
    {"questioning", "Questioning",
     "Questions that make all pupils think and reveal what they know."},
    {"formative-assessment", "Formative assessment",
     "Checking understanding and acting on it during teaching."},
    {"retrieval-practice", "Retrieval practice",
     "Regularly recalling prior learning to strengthen memory."},
    {"explanation-and-modelling", "Explanation and modelling",
     "Clear explanations, worked examples and thinking aloud."},
    {"subject-knowledge", "Subject knowledge",
     "Secure knowledge of the subject and how pupils learn it."},
    {"curriculum-sequencing", "Curriculum sequencing",
     "Ordering content so that it builds on what came before."},
    {"feedback", "Feedback", "Feedback that moves pupils' learning forward."},
    {"literacy", "Literacy",
     "Reading, writing, vocabulary and oracy across the curriculum."},
    {"send-support", "SEND support",
     "Supporting pupils with special educational needs and disabilities."},
    {"professional-conduct", "Professional conduct",
     "Professional behaviour, relationships and responsibilities."},
};

}  // namespace throughline::services::cpd

#endif  // THROUGHLINE_SERVICES_CPD_DEFAULT_TAXONOMY_H_
